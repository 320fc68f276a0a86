"""The tasks the Export API and the Hadoop API run: starting one, reading its status (spec 03 §6.2, §7.3)."""

from __future__ import annotations

from collections.abc import Callable

import requests

from cohort.models import JobStatus
from exporters.http import ApiClient, json_object
from exports.engine import ExportStepError, RemoteTaskUnreachable

# Spec 02 §2.4; any other value, or none, is `unknown`.
_BACKEND_STATUSES = {
    "Received": JobStatus.NEW,
    "Pending": JobStatus.PENDING,
    "Retry": JobStatus.PENDING,
    "Running": JobStatus.STARTED,
    "FinishedSuccessfully": JobStatus.FINISHED,
    "FinishedWithError": JobStatus.FAILED,
    "FinishedWithTimeout": JobStatus.FAILED,
    "flowerNotAccessible": JobStatus.FAILED,
    "Failure": JobStatus.FAILED,
    "NotFound": JobStatus.FAILED,
    "Revoked": JobStatus.CANCELLED,
}


def started_task_id(client: ApiClient, response: requests.Response, what: str) -> str:
    """The id of the task an API answered it started; raises ExportStepError for any other answer."""
    if not 200 <= response.status_code < 300:
        raise client.refused(response, what)
    payload = json_object(response)
    if payload is None:
        raise client.not_json(response, what)
    task_id = payload.get("task_id")
    if isinstance(task_id, bool) or not isinstance(task_id, str | int) or not str(task_id).strip():
        raise ExportStepError(f"The {client.name} accepted the {what} but answered no task id")
    return str(task_id)


def status_document(client: ApiClient, path: str, task_id: str) -> dict:
    """The task's status document, logs included; raises ExportStepError when it cannot be read."""
    what = "task status request"
    # The APIs read Python's spelling of booleans.
    params = {"task_uuid": task_id, "return_out_logs": "True", "return_err_logs": "True"}
    response = client.request("GET", path, what, params=params)
    if not 200 <= response.status_code < 300:
        raise client.refused(response, what)
    payload = json_object(response)
    if payload is None:
        raise client.not_json(response, what)
    return payload


def polled_status(read_document: Callable[[], dict]) -> str:
    """The backend status of a task from its status document; raises RemoteTaskUnreachable when unreadable."""
    try:
        document = read_document()
    except ExportStepError as error:
        raise RemoteTaskUnreachable(str(error)) from None
    task_status = document.get("task_status")
    return _BACKEND_STATUSES.get(task_status, JobStatus.UNKNOWN) if isinstance(task_status, str) else JobStatus.UNKNOWN
