"""Per-request context (trace id, user, impersonation) shared with log records and audit rows."""

from __future__ import annotations

import contextvars
import uuid

trace_id: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="-")
user_id: contextvars.ContextVar[str] = contextvars.ContextVar("user_id", default="Anonymous")
impersonating: contextvars.ContextVar[str] = contextvars.ContextVar("impersonating", default="-")

MAX_TRACE_ID_LENGTH = 100


def new_trace_id(header_value: str | None) -> str:
    """The caller's trace id when it is a sane token, otherwise a fresh UUID4."""
    if header_value and len(header_value) <= MAX_TRACE_ID_LENGTH and header_value.isprintable():
        return header_value.strip()
    return str(uuid.uuid4())
