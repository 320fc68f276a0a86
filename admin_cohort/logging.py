"""JSON log lines enriched with the request context, the socket transport, and redacted error reports."""

from __future__ import annotations

import json
import logging
import logging.handlers
import struct
import traceback
from datetime import UTC, datetime

from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from admin_cohort import request_context


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = request_context.trace_id.get()
        record.user_id = request_context.user_id.get()
        record.impersonating = request_context.impersonating.get()
        return True


def record_as_dict(record: logging.LogRecord) -> dict:
    return {
        "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(),
        "level": record.levelname,
        "logger": record.name,
        "message": record.getMessage(),
        "trace_id": getattr(record, "trace_id", "-"),
        "user_id": getattr(record, "user_id", "Anonymous"),
        "impersonating": getattr(record, "impersonating", "-"),
        "process": record.process,
        "thread": record.threadName,
        "module": record.module,
        "exc_text": traceback.format_exception(*record.exc_info) if record.exc_info else None,
    }


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(record_as_dict(record), default=str)


class JsonSocketHandler(logging.handlers.SocketHandler):
    """Sends each record as a 4-byte big-endian length followed by a JSON object (not a pickle)."""

    def makePickle(self, record: logging.LogRecord) -> bytes:  # noqa: N802 (stdlib name)
        payload = json.dumps(record_as_dict(record), default=str).encode()
        return struct.pack(">L", len(payload)) + payload


class HideSettingsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error reports show neither settings nor request metadata, and never a password."""

    cleansed_substitute = "********************"

    def get_safe_settings(self) -> dict:
        return {"hidden": self.cleansed_substitute}

    def get_safe_request_meta(self, request) -> dict:
        return {"hidden": self.cleansed_substitute}

    def get_post_parameters(self, request) -> dict:
        params = super().get_post_parameters(request)
        if hasattr(params, "copy"):
            params = params.copy()
            for key in list(params):
                if "password" in key.lower():
                    params[key] = self.cleansed_substitute
        return params

    def is_active(self, request) -> bool:
        return True


class RedactingExceptionReporter(ExceptionReporter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filter = HideSettingsExceptionReporterFilter()
