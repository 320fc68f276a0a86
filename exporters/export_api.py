"""The Export API (spec 03 §6): runs an export described by a YAML parameter document."""

from __future__ import annotations

from exporters.http import ApiClient
from exporters.remote_tasks import started_task_id, status_document


class ExportApi:
    def __init__(self, *, timeout: float | None = None, retries: int = 2) -> None:
        self._client = ApiClient(
            name="Export API",
            url_setting="EXPORT_API_URL",
            token_setting="EXPORT_API_AUTH_TOKEN",
            timeout=timeout,
            retries=retries,
        )

    def submit(self, parameters_yaml: str) -> str:
        """The id of the task running the export; a POST is never retried, so an export never runs twice."""
        what = "export submission"
        files = {"yaml_file": ("yaml_file.yaml", parameters_yaml.encode(), "application/x-yaml")}
        response = self._client.request("POST", "/yaml", what, files=files)
        return started_task_id(self._client, response, what)

    def task_status(self, task_id: str) -> dict:
        return status_document(self._client, "/task_status", task_id)
