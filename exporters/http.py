"""Calls to the Export API and the Hadoop API (spec 03 §6, §7): base URL, `auth-token`, timeout.

Every failure becomes an ExportStepError whose text is written for the owner of the failed export and the
operator who reads it: what went wrong at the boundary, never a stack trace or a credential.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import requests
from django.conf import settings

from admin_cohort.http import http_session
from cohort_job_server.client import timed_out
from exports.engine import ExportStepError, RemoteTimeout

_logger = logging.getLogger("info")

# Enough of an error body to explain a refusal, not a whole HTML page.
_MAX_DETAIL_LENGTH = 300


class ApiClient:
    def __init__(
        self, *, name: str, url_setting: str, token_setting: str, timeout: float | None = None, retries: int = 2
    ) -> None:
        """`timeout` (default EXTERNAL_API_TIMEOUT_SECONDS) and `retries` of failed connections and idempotent
        requests: fewer when somebody waits for the answer."""
        base_url = getattr(settings, url_setting)
        if not base_url:
            raise ExportStepError(f"The {name} is not configured ({url_setting} is not set)")
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout if timeout is not None else settings.EXTERNAL_API_TIMEOUT_SECONDS
        self.retries = retries
        self._token = getattr(settings, token_setting) or ""

    def request(self, method: str, path: str, what: str, **kwargs) -> requests.Response:
        """The answer, whatever its status; `what` names the call in error messages (e.g. "export submission")."""
        try:
            with http_session(timeout=self.timeout, retries=self.retries) as session:
                return session.request(method, f"{self.base_url}{path}", headers={"auth-token": self._token}, **kwargs)
        except requests.RequestException as error:
            if timed_out(error):
                raise RemoteTimeout(f"The {self.name} did not answer within {self.timeout} seconds ({what})") from None
            if isinstance(error, requests.ConnectionError):
                reason = f"The {self.name} at {host_of(self.base_url)} could not be reached ({what})"
            else:
                reason = f"The {self.name} could not be called ({what}): {type(error).__name__}"
            raise ExportStepError(reason) from None

    def refused(self, response: requests.Response, what: str) -> ExportStepError:
        body = response.text[:2000]
        _logger.warning("The %s refused the %s: HTTP %s %s", self.name, what, response.status_code, body)
        detail = error_detail(response)
        return ExportStepError(
            f"The {self.name} refused the {what} (HTTP {response.status_code}{f': {detail}' if detail else ''})"
        )

    def not_json(self, response: requests.Response, what: str) -> ExportStepError:
        return ExportStepError(
            f"The {self.name} answered the {what} with something that is not a JSON object "
            f"(HTTP {response.status_code}, {response.headers.get('Content-Type') or 'no content type'})"
        )


def host_of(url: str) -> str:
    """Where a service is, without credentials a URL might carry."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


def json_object(response: requests.Response) -> dict | None:
    """The body as a JSON object, None when it is not one."""
    try:
        payload = response.json()
    except ValueError:
        return None
    return payload if isinstance(payload, dict) else None


def error_detail(response: requests.Response) -> str:
    """The `detail` of a JSON error body (FastAPI's shape), else nothing: an HTML page explains nothing."""
    detail = (json_object(response) or {}).get("detail")
    if detail is None:
        return ""
    text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False)
    return text[:_MAX_DETAIL_LENGTH]


def short_text(response: requests.Response) -> str:
    return response.text.strip()[:_MAX_DETAIL_LENGTH]
