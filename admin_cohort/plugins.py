"""Extension points through which feature apps plug into the core (the core never imports them).

A feature app registers, from its AppConfig.ready():
* an access-rights provider, which answers the core's questions about users' rights;
* post-authentication hooks, run on every authenticated request and websocket handshake;
* the URL prefix of its routes (`url_prefix` on its AppConfig, read by admin_cohort.urls).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime

from django.db.models import QuerySet


class AccessRightsProvider:
    """The answers the core gets when no access-management app is installed: nobody holds any right."""

    def holds_any_right(self, user, rights: Iterable[str]) -> bool:
        return False

    def restrict_to_users_with_valid_access(self, users: QuerySet) -> QuerySet:
        return users

    def restrict_to_users_with_manual_profile(self, users: QuerySet) -> QuerySet:
        return users

    def on_user_created(self, user) -> None:
        pass

    def rights_change_at(self, user) -> datetime | None:
        """The next time this user's rights change by themselves (an access starts or ends), if any."""
        return None

    def next_rights_change_at(self) -> datetime | None:
        """The next time anybody's rights change by themselves, if any."""
        return None


PostAuthHook = Callable[[object, Mapping[str, str]], object]

_state: dict = {"rights": AccessRightsProvider(), "post_auth_hooks": []}


def register_rights_provider(provider: AccessRightsProvider) -> None:
    _state["rights"] = provider


def rights() -> AccessRightsProvider:
    return _state["rights"]


def register_post_auth_hook(hook: PostAuthHook) -> None:
    if hook not in _state["post_auth_hooks"]:
        _state["post_auth_hooks"].append(hook)


def run_post_auth_hooks(user, headers: Mapping[str, str]):
    """Each hook receives the user so far and the request headers, and returns the user to use."""
    for hook in _state["post_auth_hooks"]:
        user = hook(user, headers)
    return user
