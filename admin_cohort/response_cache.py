"""Response caching of selected GET endpoints (only when ENABLE_CACHE is true).

Correctness first: a cached answer is keyed on the effective user (after impersonation), the caller, the
full path with its query, and the generation numbers of the models the view reads plus the models that
define rights. Any save or delete of those models bumps their generation, so no answer outlives a change;
its lifetime is also capped at the next moment the user's rights change by themselves (an access that
starts or ends), so an expired access is never served from the cache.
"""

from __future__ import annotations

import fnmatch
import hashlib

from django.conf import settings
from django.core.cache import cache
from django.db.models.signals import post_delete, post_save
from django.utils import timezone
from rest_framework.response import Response

from admin_cohort.plugins import rights

PREFIX = "resp"
_rights_models: set[str] = set()


def register_rights_models(*labels: str) -> None:
    """Models whose changes may change anybody's rights (accesses, roles, profiles, perimeters)."""
    _rights_models.update(labels)


def _generation_key(label: str) -> str:
    return f"respgen:{label}"


def invalidate(*labels: str) -> None:
    """Called by signals, and explicitly by services that write with bulk updates."""
    for label in labels:
        key = _generation_key(label)
        if not cache.add(key, 1, timeout=None):
            try:
                cache.incr(key)
            except ValueError:
                cache.add(key, 1, timeout=None)


def _on_model_change(sender, **kwargs) -> None:
    if settings.ENABLE_CACHE:
        invalidate(sender._meta.label)


post_save.connect(_on_model_change, dispatch_uid="response_cache_save")
post_delete.connect(_on_model_change, dispatch_uid="response_cache_delete")


def _generations(labels: set[str]) -> str:
    keys = {label: _generation_key(label) for label in sorted(labels)}
    values = cache.get_many(list(keys.values()))
    return ".".join(str(values.get(key, 0)) for key in keys.values())


def _ttl_seconds(user) -> int:
    ttl = settings.RESPONSE_CACHE_TTL.total_seconds()
    change_at = rights().rights_change_at(user)
    if change_at is not None:
        ttl = min(ttl, (change_at - timezone.now()).total_seconds())
    return int(ttl)


class CachedResponseMixin:
    """For viewsets: caches successful `list` and `retrieve` answers of authenticated callers."""

    cached_actions = ("list", "retrieve")
    cache_models: tuple[str, ...] = ()

    def _cache_key(self, request) -> str:
        real = getattr(request.user, "impersonated_by", None) or request.user.username
        query = hashlib.sha256(request.get_full_path().encode()).hexdigest()[:32]
        labels = set(self.cache_models) | _rights_models | {self.get_queryset().model._meta.label}
        view = f"{type(self).__name__}.{self.action}"
        return f"{PREFIX}:{request.user.username}:{real}:{view}:{query}:{_generations(labels)}"

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if getattr(self, "_cache_store_key", None) and response.status_code == 200:
            ttl = _ttl_seconds(request.user)
            if ttl > 0:
                cache.set(self._cache_store_key, response.data, timeout=ttl)
        return response

    def _cached(self, request):
        if not (settings.ENABLE_CACHE and self.action in self.cached_actions and request.user):
            return None, None
        key = self._cache_key(request)
        return key, cache.get(key)

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


def cache_keys(pattern: str) -> list[str]:
    """Keys of cached responses matching a glob pattern (Redis and local-memory backends)."""
    full_pattern = f"{PREFIX}:{pattern}"
    if hasattr(cache, "keys"):
        return sorted(cache.keys(full_pattern))
    keys = []
    for raw_key in list(getattr(cache, "_cache", {})):
        key = raw_key.split(":", 2)[-1]  # locmem stores "<prefix>:<version>:<key>"
        if fnmatch.fnmatchcase(key, full_pattern):
            keys.append(key)
    return sorted(keys)


def delete_keys(pattern: str) -> int:
    keys = cache_keys(pattern)
    cache.delete_many(keys)
    return len(keys)
