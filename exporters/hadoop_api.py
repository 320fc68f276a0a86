"""The Hadoop API (spec 03 §7): creates the Hive database of an export and hands its directory over."""

from __future__ import annotations

from exporters.http import ApiClient, json_object, short_text
from exporters.remote_tasks import started_task_id, status_document
from exports.engine import ExportStepError

# The group of every directory handed over, as the cluster expects.
_HDFS_GROUP = "hdfs"


class HadoopApi:
    def __init__(self) -> None:
        self._client = ApiClient(name="Hadoop API", url_setting="HADOOP_API_URL", token_setting="HADOOP_API_AUTH_TOKEN")

    def create_hive_database(self, name: str, location: str) -> str:
        """The id of the task creating the database (if it does not exist yet)."""
        what = "Hive database creation"
        params = {"name": name, "location": location, "if_not_exists": "True"}
        response = self._client.request("POST", "/hadoop/hive/create_base_hive", what, params=params)
        return started_task_id(self._client, response, what)

    def task_status(self, task_id: str) -> dict:
        return status_document(self._client, "/hadoop/task_status", task_id)

    def chown_directory(self, location: str, uid: str) -> None:
        """Gives `location` and everything under it to `uid`; raises ExportStepError unless the API confirms."""
        params = {"location": location, "uid": uid, "gid": _HDFS_GROUP, "recursive": "True"}
        response = self._client.request("POST", "/hadoop/hdfs/chown_directory", "ownership change", params=params)
        payload = json_object(response) or {}
        if 200 <= response.status_code < 300 and payload.get("status") == "success" and payload.get("ret_code") == 0:
            return
        error = payload.get("err") or short_text(response) or f"HTTP {response.status_code}"
        raise ExportStepError(f"The Hadoop API could not give {location} to {uid}: {error}")
