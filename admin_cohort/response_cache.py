"""Response caching of selected GET endpoints (only when ENABLE_CACHE is true).

Correctness first: a cached answer is keyed on the effective user (after impersonation), the caller, the
absolute URL with its query, and the generation tokens of the models the view reads plus the models that
define rights. Any save or delete of those models replaces their generation token, so no answer outlives
a change; its lifetime is also capped at the next moment rights change by themselves (an access that
starts or ends), so an expired access is never served from the cache.

Generations are random tokens rather than counters: a token lost to eviction or to a flush is replaced by
a new one, which can only make old answers unreachable, never bring them back.
"""

from __future__ import annotations

import contextlib
import fnmatch
import hashlib
import logging
import uuid
from collections.abc import Iterator
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from rest_framework.response import Response

from admin_cohort.plugins import rights

PREFIX = "resp"
_rights_models: set[str] = set()
_logger = logging.getLogger("info")


@contextlib.contextmanager
def _cache_failures_tolerated(action: str) -> Iterator[None]:
    """An unreachable cache costs speed, never a request nor a write."""
    try:
        yield
    except Exception:
        _logger.exception("Response cache unavailable (%s)", action)


def register_rights_models(*labels: str) -> None:
    """Models whose changes may change anybody's rights (accesses, roles, profiles, perimeters)."""
    _rights_models.update(labels)


def _generation_key(label: str) -> str:
    return f"respgen:{label}"


def _new_token() -> str:
    return uuid.uuid4().hex[:12]


def invalidate(*labels: str) -> None:
    """Called by signals, and explicitly by services that write with bulk updates."""
    cache.set_many({_generation_key(label): _new_token() for label in labels}, timeout=None)


def _on_model_change(sender, **kwargs) -> None:
    if not settings.ENABLE_CACHE:
        return
    label = sender._meta.label
    with _cache_failures_tolerated("invalidate"):
        invalidate(label)
    # Again once committed: a reader between the save and the commit may have cached the old rows
    # under the new token.
    transaction.on_commit(lambda: _invalidate_tolerantly(label))


def _invalidate_tolerantly(label: str) -> None:
    with _cache_failures_tolerated("invalidate"):
        invalidate(label)


post_save.connect(_on_model_change, dispatch_uid="response_cache_save")
post_delete.connect(_on_model_change, dispatch_uid="response_cache_delete")


def _generations(labels: set[str]) -> str:
    keys = [_generation_key(label) for label in sorted(labels)]
    tokens = cache.get_many(keys)
    missing = [key for key in keys if key not in tokens]
    if missing:
        for key in missing:
            cache.add(key, _new_token(), timeout=None)
        tokens.update(cache.get_many(missing))
    return ".".join(str(tokens.get(key, "-")) for key in keys)


def _ttl_seconds(user, everyones_rights: bool) -> int:
    provider = rights()
    moments = [provider.rights_change_at(user)]
    if everyones_rights:
        moments.append(provider.next_rights_change_at())
    ttl = settings.RESPONSE_CACHE_TTL.total_seconds()
    now = timezone.now()
    for moment in moments:
        if moment is not None:
            ttl = min(ttl, (moment - now).total_seconds())
    return int(ttl)


def _segment(username: str) -> str:
    return quote(username, safe="")


class CachedResponseMixin:
    """For viewsets: caches successful `list` and `retrieve` answers of authenticated callers.

    `cache_models`: labels of the other models the answers are built from.
    `cache_depends_on_everyones_rights`: the answers change when anybody's access starts or ends
    (e.g. a list of the users holding a valid access), not only the caller's.
    """

    cached_actions = ("list", "retrieve")
    cache_models: tuple[str, ...] = ()
    cache_depends_on_everyones_rights = False

    def _cache_key(self, request) -> str:
        effective = request.user.username
        real = getattr(request.user, "impersonated_by", None) or effective
        url = hashlib.sha256(request.build_absolute_uri().encode()).hexdigest()[:32]
        labels = set(self.cache_models) | _rights_models | {self.get_queryset().model._meta.label}
        view = f"{type(self).__name__}.{self.action}"
        return f"{PREFIX}:{_segment(effective)}:{_segment(real)}:{view}:{url}:{_generations(labels)}"

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if getattr(self, "_cache_store_key", None) and response.status_code == 200:
            ttl = _ttl_seconds(request.user, self.cache_depends_on_everyones_rights)
            if ttl > 0:
                with _cache_failures_tolerated("store"):
                    cache.set(self._cache_store_key, response.data, timeout=ttl)
        return response

    def _cached(self, request):
        if not (settings.ENABLE_CACHE and self.action in self.cached_actions and request.user):
            return None, None
        with _cache_failures_tolerated("lookup"):
            key = self._cache_key(request)
            return key, cache.get(key)
        return None, None

    def list(self, request, *args, **kwargs):
        return self._serve(request, super().list, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        return self._serve(request, super().retrieve, *args, **kwargs)

    def _serve(self, request, compute, *args, **kwargs):
        key, data = self._cached(request)
        if data is not None:
            return Response(data)
        self._cache_store_key = key
        return compute(request, *args, **kwargs)


def _all_keys() -> list[str]:
    """Keys of cached responses (Redis and local-memory backends)."""
    pattern = f"{PREFIX}:*"
    if hasattr(cache, "iter_keys"):  # Redis: SCAN, which does not block the server like KEYS
        return sorted(cache.iter_keys(pattern))
    keys = []
    for raw_key in list(getattr(cache, "_cache", {})):
        key = raw_key.split(":", 2)[-1]  # locmem stores "<prefix>:<version>:<key>"
        if fnmatch.fnmatchcase(key, pattern):
            keys.append(key)
    return sorted(keys)


def cache_keys(username: str | None = None) -> list[str]:
    """Every cached answer's key, or those served to `username` or asked by them (impersonating)."""
    keys = _all_keys()
    if not username:
        return keys
    segment = _segment(username)
    return [key for key in keys if segment in key.split(":")[1:3]]


def delete_keys(username: str | None = None) -> int:
    keys = cache_keys(username)
    cache.delete_many(keys)
    return len(keys)
