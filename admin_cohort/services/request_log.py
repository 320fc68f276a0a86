"""The audit trail of write requests (the Portail reads it on its logs page)."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from admin_cohort import request_context
from admin_cohort.models import RequestLog

_logger = logging.getLogger("info")
MASK = "********************"
SENSITIVE_KEY_PARTS = ("api", "token", "key", "secret", "password", "signature")
MAX_STORED_CHARS = 20_000


def mask_sensitive(value):
    if isinstance(value, dict):
        return {
            k: MASK if any(part in str(k).lower() for part in SENSITIVE_KEY_PARTS) else mask_sensitive(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [mask_sensitive(v) for v in value]
    return value


def _compact(value) -> str | None:
    if value is None:
        return None
    text = json.dumps(mask_sensitive(value), separators=(",", ":"), default=str, ensure_ascii=False)
    return text[:MAX_STORED_CHARS]


def _storable(value):
    """PostgreSQL text cannot hold NUL characters: a request carrying one (`/users/%00/`) is recorded all the
    same, with U+FFFD in their place, or whoever sends them would leave no trace."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


def _ip_or_none(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def _client_address(request) -> str | None:
    """The first forwarded address when the proxy gave a valid one (the header is caller-controlled)."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")[0]
    return _ip_or_none(forwarded) or _ip_or_none(request.META.get("REMOTE_ADDR"))


def record_request(*, request, view_name: str, view_method: str, started_at: datetime, response) -> None:
    """Never fails the request it records: a logging failure is logged and swallowed."""
    try:
        user = getattr(request, "user", None)
        authenticated = bool(user is not None and user.is_authenticated)
        body = _plain(getattr(request, "data", None))
        query = _plain(request.query_params) if hasattr(request, "query_params") else {}
        failed = response.status_code >= 400
        answer = _compact(getattr(response, "data", None))
        row = {
            "user": user if authenticated else None,
            "username_persistent": user.username if authenticated else "Anonymous",
            "impersonated_by": getattr(user, "impersonated_by", None),
            "trace_id": request_context.trace_id.get(),
            "requested_at": started_at,
            "response_ms": int((timezone.now() - started_at).total_seconds() * 1000),
            "path": request.path[:1024],
            "view": view_name[:200],
            "view_method": view_method[:200],
            "remote_addr": _client_address(request),
            "host": request.get_host()[:200],
            "method": request.method,
            "user_agent": (request.META.get("HTTP_USER_AGENT") or "")[:255],
            "query_params": _compact(query or body),
            "data": _compact(body),
            # Compact JSON: the Portail filters on substrings such as `"id":42`.
            "response": None if failed else answer,
            "errors": answer if failed else None,
            "status_code": response.status_code,
        }
        # Within a transaction, a savepoint: a row that cannot be stored must not break the caller's transaction.
        # Outside one (most requests), the INSERT alone, without a BEGIN and a COMMIT around it.
        with transaction.atomic() if transaction.get_connection().in_atomic_block else contextlib.nullcontext():
            RequestLog.objects.create(**{name: _storable(value) for name, value in row.items()})
    except Exception:
        _logger.exception("Could not record request %s %s", request.method, request.path)


def _plain(data):
    """QueryDicts (form/multipart bodies) become plain dicts; files are named, never stored."""
    if hasattr(data, "lists"):
        return {k: (v[0] if len(v) == 1 else v) for k, v in data.lists()}
    return data
