"""Per-request context (trace id, user, impersonation) shared with log records and audit rows."""

from __future__ import annotations

import contextvars
import re
import uuid

trace_id: contextvars.ContextVar[str] = contextvars.ContextVar("trace_id", default="-")
user_id: contextvars.ContextVar[str] = contextvars.ContextVar("user_id", default="Anonymous")
impersonating: contextvars.ContextVar[str] = contextvars.ContextVar("impersonating", default="-")

# A caller's id is written into every log line and echoed in a header: nothing that could forge a line.
_SAFE_TRACE_ID = re.compile(r"^[\w.:/+=@-]{1,100}$", re.ASCII)


def new_trace_id(header_value: str | None) -> str:
    """The caller's trace id when it is a sane token, otherwise a fresh UUID4."""
    candidate = (header_value or "").strip()
    if _SAFE_TRACE_ID.match(candidate):
        return candidate
    return str(uuid.uuid4())
