"""The fakes hold to the contracts they stand for (spec 03 §6.3, §7.4, §8.3), so that tests passing against them
mean something."""

from __future__ import annotations

import requests

UPLOAD = ("yaml_file.yaml", "application/x-yaml")


def post_yaml(api, text: str, field: str = "yaml_file") -> requests.Response:
    files = {field: (UPLOAD[0], text.encode(), UPLOAD[1])}
    return requests.post(f"{api.url}/yaml", files=files, headers={"auth-token": api.token}, timeout=5)


class TestFakeExportApi:
    def test_a_document_without_tables_is_refused(self, export_api):
        response = post_yaml(export_api, "output:\n  type: csv\n  filePath: /a.zip\noverwrite: true\n")
        assert response.status_code == 422
        assert response.json() == {"detail": "tablesToExport must be a non-empty list of tables"}
        assert export_api.documents == []

    def test_a_request_without_the_yaml_file_is_refused(self, export_api):
        response = post_yaml(export_api, "output: {}", field="file")
        assert (response.status_code, response.json()) == (422, {"detail": "field required: yaml_file"})

    def test_invalid_yaml_is_refused(self, export_api):
        assert post_yaml(export_api, "output: [unclosed").status_code == 422

    def test_the_status_script_of_tasks_started_from_now_on(self, export_api):
        export_api.statuses = ["Running", "Revoked"]
        task_id = export_api.new_task()
        url = f"{export_api.url}/task_status"
        statuses = [
            requests.get(url, params={"task_uuid": task_id}, headers={"auth-token": export_api.token}, timeout=5).json()
            for _ in range(3)
        ]
        assert [status["task_status"] for status in statuses] == ["Running", "Revoked", "Revoked"]

    def test_status_requests_need_the_token(self, export_api):
        response = requests.get(f"{export_api.url}/task_status", params={"task_uuid": "t"}, timeout=5)
        assert response.status_code == 401


class TestFakeHadoopApi:
    def test_calls_need_the_token(self, hadoop_api):
        response = requests.post(f"{hadoop_api.url}/hadoop/hdfs/chown_directory?location=/a&uid=u", timeout=5)
        assert response.status_code == 401
        assert hadoop_api.chowns == []


class TestFakeWebHdfs:
    def test_a_huge_sparse_file_is_created_at_once(self, webhdfs):
        webhdfs.create_file("/big/file.zip", 1_000_000_000)
        response = requests.get(f"{webhdfs.url}/webhdfs/v1/big/file.zip", params={"op": "GETFILESTATUS"}, timeout=5)
        assert response.json()["FileStatus"]["length"] == 1_000_000_000
        assert webhdfs.local_path("/big/file.zip").stat().st_blocks == 0

    def test_paths_outside_the_tree_are_refused(self, webhdfs):
        response = requests.get(f"{webhdfs.url}/webhdfs/v1/%2E%2E/etc/passwd", params={"op": "OPEN"}, timeout=5)
        assert response.status_code == 400
