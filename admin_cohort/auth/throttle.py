"""Failed-login throttling, per username and per client address, kept in the shared cache."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(kind: str, value: str) -> str:
    return f"login-failures:{kind}:{hashlib.sha256(value.encode()).hexdigest()}"


def _keys(username: str, address: str) -> list[tuple[str, int]]:
    return [
        (_key("user", username.lower()), settings.LOGIN_THROTTLE_MAX_FAILURES),
        (_key("addr", address), settings.LOGIN_THROTTLE_MAX_FAILURES_PER_ADDRESS),
    ]


def is_throttled(username: str, address: str) -> bool:
    return any((cache.get(key) or 0) >= limit for key, limit in _keys(username, address))


def record_failure(username: str, address: str) -> None:
    for key, _limit in _keys(username, address):
        if cache.add(key, 1, timeout=settings.LOGIN_THROTTLE_WINDOW_SECONDS):
            continue
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 1, timeout=settings.LOGIN_THROTTLE_WINDOW_SECONDS)


def clear_username(username: str) -> None:
    cache.delete(_key("user", username.lower()))
