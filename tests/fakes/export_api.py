"""A fake Export API (spec 03 §6.3): receives YAML parameter documents, runs scripted tasks.

    with FakeWebHdfs() as hdfs, FakeExportApi(webhdfs=hdfs) as api:
        settings.EXPORT_API_URL, settings.EXPORT_API_AUTH_TOKEN = api.url, api.token
        ...                                   # the backend submits an export
        api.documents[-1]["output"]           # the parsed parameter document
        api.uploads[-1].filename              # how it was sent ("yaml_file.yaml")

Tasks and their statuses (shared with the fake Hadoop API, `FakeTaskApi`):

* `statuses`: the script of the tasks started from now on, one step per status request, the last one
  repeated (default Received -> Running -> FinishedSuccessfully); `script(task_id, [...])` changes one task's;
* `status_answer`: "json" (default), "non_json" (an HTML page), "no_status" (JSON without `task_status`),
  "http_500"; an unknown task id gets `{"task_status": "NotFound"}`;
* `delay_seconds`: every answer comes this late (to provoke the backend's timeouts);
* requests without the right `auth-token` get 401.

Export API knobs: `submission` = "accept" (default), "reject" (422 `{"detail": reject_detail}`), "non_json",
"no_task_id". With `webhdfs`, a CSV/XLSX task that ends successfully leaves an archive of `archive_size` bytes
at its `output.filePath`, so downloads work end to end.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.parser import BytesParser
from typing import TYPE_CHECKING, Any

import yaml

from tests.fakes.http_server import FakeServer, RecordedRequest, Reply

if TYPE_CHECKING:
    from tests.fakes.webhdfs import FakeWebHdfs

DEFAULT_STATUSES = ("Received", "Running", "FinishedSuccessfully")
_HTML_PAGE = Reply(
    status=200, body="<html><body>Service temporarily unavailable</body></html>", headers={"Content-Type": "text/html"}
)


class FakeTaskApi(FakeServer):
    """What the Export API and the Hadoop API share: the `auth-token` check, delays, scripted tasks."""

    def __init__(self, *, token: str, status_path: str) -> None:
        super().__init__()
        self.token = token
        self.statuses: list[str] = list(DEFAULT_STATUSES)
        self.status_answer = "json"
        self.delay_seconds = 0.0
        self._scripts: dict[str, list[str]] = {}
        self._reads: dict[str, int] = {}
        self._released = threading.Event()
        self.checked_route("GET", status_path, self._task_status)

    def checked_route(self, method: str, pattern: str, handler: Callable[..., Reply]) -> None:
        """A route answering after `delay_seconds`, and 401 without the right `auth-token`."""

        def checked(request: RecordedRequest, **params) -> Reply:
            if self.delay_seconds:
                self._released.wait(self.delay_seconds)
            if request.headers.get("auth-token") != self.token:
                return Reply(status=401, json={"detail": "Invalid authentication token"})
            return handler(request, **params)

        self.route(method, pattern, checked)

    def start(self):
        self._released.clear()
        return super().start()

    def stop(self) -> None:
        self._released.set()  # wakes delayed answers
        super().stop()

    # -- tasks ---------------------------------------------------------------------------------------

    def new_task(self) -> str:
        task_id = str(uuid.uuid4())
        self.script(task_id, self.statuses)
        return task_id

    def script(self, task_id: str, statuses: list[str]) -> None:
        with self._lock:
            self._scripts[task_id] = list(statuses)
            self._reads[task_id] = 0

    @property
    def task_ids(self) -> list[str]:
        with self._lock:
            return list(self._scripts)

    def _next_status(self, task_id: str) -> str | None:
        with self._lock:
            script = self._scripts.get(task_id)
            if script is None:
                return None
            position = min(self._reads[task_id], len(script) - 1)
            self._reads[task_id] += 1
            return script[position]

    def _task_status(self, request: RecordedRequest) -> Reply:
        if self.status_answer == "non_json":
            return _HTML_PAGE
        if self.status_answer == "http_500":
            return Reply(status=500, json={"detail": "Internal Server Error"})
        task_id = request.query.get("task_uuid", [""])[-1]
        status = self._next_status(task_id)
        if self.status_answer == "no_status":
            return Reply(json={"task_id": task_id, "stdout": "", "stderr": ""})
        if status is None:
            return Reply(json={"task_status": "NotFound"})
        if status == "FinishedSuccessfully":
            self.task_succeeded(task_id)
        return Reply(json={"task_status": status, "stdout": f"{task_id}: {status}", "stderr": ""})

    def task_succeeded(self, task_id: str) -> None:
        """Called each time a task is read as FinishedSuccessfully."""


@dataclass(frozen=True)
class Upload:
    field_name: str
    filename: str | None
    content_type: str
    text: str


class FakeExportApi(FakeTaskApi):
    def __init__(
        self, *, token: str = "export-api-test-token", webhdfs: FakeWebHdfs | None = None, archive_size: int = 1024
    ) -> None:
        super().__init__(token=token, status_path="/task_status")
        self.webhdfs = webhdfs
        self.archive_size = archive_size
        self.submission = "accept"
        self.reject_detail = "The export could not be accepted"
        self.uploads: list[Upload] = []
        self.documents: list[dict[str, Any]] = []
        self._document_of_task: dict[str, dict[str, Any]] = {}
        self.checked_route("POST", "/yaml", self._submit)

    def document_of(self, task_id: str) -> dict[str, Any]:
        with self._lock:
            return self._document_of_task[task_id]

    def _submit(self, request: RecordedRequest) -> Reply:
        if self.submission == "reject":
            return Reply(status=422, json={"detail": self.reject_detail})
        if self.submission == "non_json":
            return _HTML_PAGE
        try:
            upload = _yaml_upload(request)
            document = yaml.safe_load(upload.text)
            problem = schema_problem(document)
        except (ValueError, yaml.YAMLError) as error:
            problem = str(error)
        if problem:
            return Reply(status=422, json={"detail": problem})
        if self.submission == "no_task_id":
            return Reply(json={"status": "accepted"})
        task_id = self.new_task()
        with self._lock:
            self.uploads.append(upload)
            self.documents.append(document)
            self._document_of_task[task_id] = document
        return Reply(json={"task_id": task_id})

    def task_succeeded(self, task_id: str) -> None:
        with self._lock:
            file_path = self._document_of_task.get(task_id, {}).get("output", {}).get("filePath")
        if self.webhdfs is not None and file_path and not self.webhdfs.exists(file_path):
            self.webhdfs.create_file(file_path, self.archive_size)


def _yaml_upload(request: RecordedRequest) -> Upload:
    content_type = request.headers.get("Content-Type", "")
    message = BytesParser(policy=policy.HTTP).parsebytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + request.body
    )
    if not message.is_multipart():
        raise ValueError("expected a multipart/form-data body")
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if name == "yaml_file":
            payload = part.get_payload(decode=True) or b""
            return Upload(name, part.get_filename(), part.get_content_type(), payload.decode())
    raise ValueError("field required: yaml_file")


def schema_problem(document: Any) -> str:
    """What makes a parameter document invalid (spec 03 §6.1), "" when it is valid."""
    if not isinstance(document, dict):
        return "the document is not a mapping"
    output = document.get("output")
    if not isinstance(output, dict) or output.get("type") not in ("csv", "xlsx", "hive"):
        return "output.type must be csv, xlsx or hive"
    location_key = "databaseName" if output["type"] == "hive" else "filePath"
    if not isinstance(output.get(location_key), str) or not output[location_key]:
        return f"output.{location_key} is required"
    if document.get("overwrite") is not True:
        return "overwrite must be true"
    tables = document.get("tablesToExport")
    if not isinstance(tables, list) or not tables or not all(isinstance(table, dict) for table in tables):
        return "tablesToExport must be a non-empty list of tables"
    if any(not isinstance(table.get("tableName"), str) or table.get("relation") is not True for table in tables):
        return "every table needs a tableName and relation: true"
    if tables[0]["tableName"] != "person" or not isinstance(tables[0].get("cohortId"), str):
        return "the first table must be person, with a cohortId"
    if not isinstance(document.get("noDateShift"), bool):
        return "noDateShift must be a boolean"
    if "disableTerminology" not in document:
        return "disableTerminology is required"
    return ""
