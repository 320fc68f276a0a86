"""HTTP calls to the QueryExecutor (spec 03 §2.2 to §2.4); every failure becomes a JobServerError.

Reasons are written for the researcher who sees the failed job and the operator who reads it: what went
wrong at the boundary, never a stack trace, a response body or a credential.
"""

from __future__ import annotations

import logging
from urllib.parse import quote, urlsplit

import requests
import urllib3
from django.conf import settings

from admin_cohort.http import http_session
from cohort.job_server import JobServerError

_logger = logging.getLogger("info")

# Legacy parameters of the job server the QueryExecutor replaced: ignored by it, still sent as the reference does.
_COUNT_PARAMS = {"appName": "omop-spark-job", "classPath": "fr.aphp.id.eds.requester.CountQuery", "context": "shared"}
_CREATE_PARAMS = {
    "appName": "omop-spark-job",
    "classPath": "fr.aphp.id.eds.requester.CreateQuery",
    "context": "shared",
    "sync": "false",
}


def timed_out(error: requests.RequestException) -> bool:
    """A timeout, including the read timeout of a retryable method, which requests reports as a ConnectionError."""
    if isinstance(error, requests.Timeout):
        return True
    reason = getattr(error.args[0], "reason", None) if error.args else None
    # urllib3 makes a refused connection a kind of connect timeout: it is not one for the user.
    refused = isinstance(reason, urllib3.exceptions.NewConnectionError)
    return isinstance(reason, urllib3.exceptions.TimeoutError) and not refused


def _host(url: str) -> str:
    """Where the service is, without credentials a URL might carry."""
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)


class QueryExecutorClient:
    def __init__(self) -> None:
        if not settings.QUERY_EXECUTOR_URL:
            raise JobServerError("The QueryExecutor is not configured (QUERY_EXECUTOR_URL is not set)")
        self.base_url = settings.QUERY_EXECUTOR_URL.rstrip("/")
        self.timeout = settings.JOB_SERVER_TIMEOUT_SECONDS

    def _call(self, method: str, path: str, what: str, **kwargs) -> requests.Response:
        try:
            with http_session(timeout=self.timeout) as session:
                return session.request(method, f"{self.base_url}{path}", **kwargs)
        except requests.RequestException as error:
            if timed_out(error):
                reason = f"The QueryExecutor did not answer within {self.timeout} seconds ({what})"
            elif isinstance(error, requests.ConnectionError):
                reason = f"The QueryExecutor at {_host(self.base_url)} could not be reached ({what})"
            else:
                reason = f"The QueryExecutor could not be called ({what}): {type(error).__name__}"
            raise JobServerError(reason) from None

    def submit(self, body: str, *, create: bool) -> dict:
        """The job descriptor the QueryExecutor answered (a JSON object; its fields are checked by the caller).

        The body is raw text without a Content-Type, as the QueryExecutor expects; a POST is never retried.
        """
        response = self._call(
            "POST", "/jobs", "job submission", params=_CREATE_PARAMS if create else _COUNT_PARAMS, data=body.encode()
        )
        if not 200 <= response.status_code < 300:
            _logger.warning("QueryExecutor refused a job: HTTP %s", response.status_code)
            raise JobServerError(f"The QueryExecutor refused the job (HTTP {response.status_code})")
        return _json_object(response, "job submission")

    def cancel(self, job_id: str) -> tuple[int, dict | None]:
        """The HTTP status of `DELETE /jobs/{id}` and, for a 200, its JSON descriptor."""
        response = self._call("DELETE", f"/jobs/{quote(job_id, safe='')}", "job cancellation")
        if response.status_code != 200:
            return response.status_code, None
        return 200, _json_object(response, "job cancellation")


def _json_object(response: requests.Response, what: str) -> dict:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise JobServerError(
            f"The QueryExecutor answered the {what} with something that is not a JSON object "
            f"(HTTP {response.status_code}, {response.headers.get('Content-Type') or 'no content type'})"
        )
    return payload
