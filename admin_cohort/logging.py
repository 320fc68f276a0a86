"""JSON log lines enriched with the request context, the socket transport, and redacted error reports."""

from __future__ import annotations

import json
import logging
import logging.handlers
import struct
import traceback
from collections.abc import Iterable
from datetime import UTC, datetime

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from django.views.debug import ExceptionReporter, SafeExceptionReporterFilter

from admin_cohort import request_context

# Attributes every LogRecord has but which a JSON reader cannot use (or could not decode).
_UNSERIALISABLE_RECORD_ATTRIBUTES = ("args", "exc_info")


class RequestContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.trace_id = request_context.trace_id.get()
        record.user_id = request_context.user_id.get()
        record.impersonating = request_context.impersonating.get()
        return True


def _traceback_lines(record: logging.LogRecord) -> list[str] | None:
    return traceback.format_exception(*record.exc_info) if record.exc_info else None


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
        "exc_text": _traceback_lines(record),
    }


def _without_query(value: object) -> object:
    """A request shown as method and path: its usual representation includes the query string."""
    try:
        request = value if isinstance(value, HttpRequest) else getattr(value, "_request", None)
    except Exception:  # lazy objects may fail on any attribute access; a report must still be made
        return value
    if isinstance(request, HttpRequest):
        return f"<{type(value).__name__}: {request.method} {request.path!r}>"
    return value


def record_for_transport(record: logging.LogRecord) -> dict:
    """The record's own attributes, so that the listener can rebuild it with `logging.makeLogRecord`."""
    payload = {
        key: _without_query(value)
        for key, value in vars(record).items()
        if key not in _UNSERIALISABLE_RECORD_ATTRIBUTES
    }
    payload.update(record_as_dict(record))
    payload.update(msg=record.getMessage(), args=None, exc_info=None, exc_text=_traceback_lines(record))
    return payload


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(record_as_dict(record), default=str)


class JsonSocketHandler(logging.handlers.SocketHandler):
    """Sends each record as a 4-byte big-endian length followed by a JSON object (not a pickle)."""

    def makePickle(self, record: logging.LogRecord) -> bytes:  # noqa: N802 (stdlib name)
        payload = json.dumps(record_for_transport(record), default=str).encode()
        return struct.pack(">L", len(payload)) + payload


class HideSettingsExceptionReporterFilter(SafeExceptionReporterFilter):
    """Error reports show neither settings, request metadata nor cookies, and no secret-looking value.

    Values are redacted by name (POST and GET parameters, local variables, dictionary keys), whatever
    the view declared, because a forgotten `sensitive_variables` decorator must not leak a password.
    """

    cleansed_substitute = "********************"

    def get_safe_settings(self) -> dict:
        return {"hidden": self.cleansed_substitute}

    def get_safe_request_meta(self, request) -> dict:
        return {"hidden": self.cleansed_substitute}

    def get_safe_cookies(self, request) -> dict:
        return {"hidden": self.cleansed_substitute}

    def is_active(self, request) -> bool:
        return True

    def cleansed_items(self, items: Iterable[tuple[str, object]]) -> list[tuple[str, object]]:
        return [(key, self.cleanse_setting(key, _without_query(value))) for key, value in items]

    def get_cleansed_multivaluedict(self, request, multivaluedict: MultiValueDict) -> MultiValueDict:
        cleansed = multivaluedict.copy()
        for key in cleansed:
            if self.hidden_settings.search(key):
                cleansed.setlist(key, [self.cleansed_substitute])
        return cleansed

    def get_post_parameters(self, request):
        if request is None:
            return {}
        return self.get_cleansed_multivaluedict(request, request.POST)

    def get_traceback_frame_variables(self, request, tb_frame):
        return self.cleansed_items(super().get_traceback_frame_variables(request, tb_frame))


class RedactingExceptionReporter(ExceptionReporter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.filter = HideSettingsExceptionReporterFilter()

    def get_traceback_data(self) -> dict:
        data = super().get_traceback_data()
        if self.request is not None:
            # Django filters POST parameters but prints the query string as it came (twice).
            query = self.filter.get_cleansed_multivaluedict(self.request, self.request.GET)
            data["request_GET_items"] = query.items()
            url = data.get("request_insecure_uri", "").split("?", 1)[0]
            data["request_insecure_uri"] = f"{url}?{query.urlencode(safe='*')}" if query else url
        return data
