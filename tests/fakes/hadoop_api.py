"""A fake Hadoop API (spec 03 §7.4): creates Hive databases as scripted tasks, changes directory owners.

    with FakeHadoopApi() as hadoop:
        settings.HADOOP_API_URL, settings.HADOOP_API_AUTH_TOKEN = hadoop.url, hadoop.token
        ...
        hadoop.databases   # [{"name": ..., "location": ..., "if_not_exists": "True"}]
        hadoop.chowns      # [{"location": ..., "uid": ..., "gid": "hdfs", "recursive": "True"}]

Tasks, statuses, delays and the `auth-token` check are those of `FakeTaskApi` (tests/fakes/export_api.py).
`fail_chown(err, uid=...)` makes ownership changes (to that uid, or all) answer 500
`{"status": "error", "ret_code": 1, "err": err}`.
"""

from __future__ import annotations

from tests.fakes.export_api import FakeTaskApi
from tests.fakes.http_server import RecordedRequest, Reply

_ANY_UID = "*"


class FakeHadoopApi(FakeTaskApi):
    def __init__(self, *, token: str = "hadoop-api-test-token") -> None:
        super().__init__(token=token, status_path="/hadoop/task_status")
        self.databases: list[dict[str, str]] = []
        self.chowns: list[dict[str, str]] = []
        self._chown_errors: dict[str, str] = {}
        self.checked_route("POST", "/hadoop/hive/create_base_hive", self._create_base_hive)
        self.checked_route("POST", "/hadoop/hdfs/chown_directory", self._chown_directory)

    def fail_chown(self, err: str, *, uid: str | None = None) -> None:
        with self._lock:
            self._chown_errors[uid or _ANY_UID] = err

    def _create_base_hive(self, request: RecordedRequest) -> Reply:
        params = _params(request)
        if not params.get("name") or not params.get("location"):
            return Reply(status=422, json={"detail": "name and location are required"})
        with self._lock:
            self.databases.append(params)
        return Reply(json={"task_id": self.new_task()})

    def _chown_directory(self, request: RecordedRequest) -> Reply:
        params = _params(request)
        if not params.get("location") or not params.get("uid"):
            return Reply(status=422, json={"detail": "location and uid are required"})
        with self._lock:
            self.chowns.append(params)
            err = self._chown_errors.get(params["uid"]) or self._chown_errors.get(_ANY_UID)
        if err:
            return Reply(status=500, json={"status": "error", "ret_code": 1, "err": err})
        return Reply(json={"status": "success", "ret_code": 0, "out": "", "err": ""})


def _params(request: RecordedRequest) -> dict[str, str]:
    return {name: values[-1] for name, values in request.query.items()}
