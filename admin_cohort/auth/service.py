"""Who is calling: the one authentication path shared by HTTP requests and the websocket handshake."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.conf import settings

from admin_cohort import request_context
from admin_cohort.auth import jwt_tokens, machine_tokens, oidc
from admin_cohort.auth.errors import AuthError
from admin_cohort.lookups import one_or_none
from admin_cohort.models import User
from admin_cohort.plugins import run_post_auth_hooks

_logger = logging.getLogger("info")

JWT = "JWT"
OIDC = "OIDC"


def username_from_token(token: str, method: str | None) -> str:
    """Raises AuthError for an unknown method or a token that does not verify."""
    if method == JWT:
        return jwt_tokens.verify_access_token(token)["username"]
    if method == OIDC and settings.ENABLE_OIDC_AUTH:
        return oidc.verify_access_token(token)
    raise AuthError("Unknown authorization method")


def authenticate_token(token: str, method: str | None, headers: Mapping[str, str]) -> User:
    """Interactive users only (JWT or OIDC), then post-authentication hooks (impersonation)."""
    username = username_from_token(token, method)
    user = one_or_none(User.objects.filter(pk=username))
    if user is None:
        raise AuthError("Unknown user")
    if username in machine_tokens.machine_usernames():
        raise AuthError("Machine accounts authenticate with their static token only")
    return run_post_auth_hooks(user, headers)


def authenticate_machine_token(token: str) -> User | None:
    username = machine_tokens.username_for_token(token)
    if username is None:
        return None
    user = one_or_none(User.objects.filter(pk=username))
    if user is None:
        _logger.error("Machine token for %r presented but that user does not exist", username)
    return user


def bind_to_request_context(user: User, headers: Mapping[str, str]) -> None:
    """Log lines name the real caller; the impersonated user goes in `impersonating`."""
    request_context.user_id.set(getattr(user, "impersonated_by", None) or user.username)
    impersonated = headers.get("X-Impersonate")
    if impersonated:
        request_context.impersonating.set(impersonated)
