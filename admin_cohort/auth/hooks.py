"""External authentication and identity hooks, configured as dotted paths to callables.

* authentication hook: `hook(username, password) -> bool`
* identity hook: `hook(username) -> {"username", "firstname", "lastname", "email"} | None`
A hook that cannot be imported or that fails is logged and the next one is tried.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.utils.module_loading import import_string

_logger = logging.getLogger("info")
IDENTITY_FIELDS = ("username", "firstname", "lastname", "email")


class HookError(Exception):
    """A hook could not give an answer (service unreachable, malformed answer…)."""


def _load(path: str):
    try:
        return import_string(path)
    except ImportError:
        _logger.error("Hook %r cannot be imported", path)
        return None


def authenticate_with_hooks(username: str, password: str) -> bool:
    for path in settings.USER_AUTHENTICATION_HOOKS:
        hook = _load(path)
        if hook is None:
            continue
        try:
            if hook(username, password):
                return True
        except Exception:  # a broken hook must not stop the others nor crash the login
            _logger.exception("Authentication hook %r failed", path)
    return False


def lookup_identity(username: str) -> dict | None:
    """Raises HookError when every configured hook failed (none answered, not even "unknown")."""
    if not settings.USER_IDENTITY_HOOKS:
        _logger.error("No identity hook is configured (USER_IDENTITY_HOOKS)")
        return None
    failures = 0
    for path in settings.USER_IDENTITY_HOOKS:
        hook = _load(path)
        if hook is None:
            failures += 1
            continue
        try:
            identity = hook(username)
        except Exception:
            _logger.exception("Identity hook %r failed", path)
            failures += 1
            continue
        if identity and not isinstance(identity, dict):
            _logger.error("Identity hook %r returned a %s, not a dict", path, type(identity).__name__)
            failures += 1
        elif identity:
            # only the documented fields: a hook must not leak other directory attributes to the caller
            return {field: identity.get(field) for field in IDENTITY_FIELDS}
    if failures == len(settings.USER_IDENTITY_HOOKS):
        raise HookError("The identity service could not be reached")
    return None
