"""The steps of a Hive export against the fake Hadoop API and Export API (spec 02 §17.3, spec 03 §7)."""

from __future__ import annotations

import pytest

from exports.engine import ExportStepError, RemoteTaskUnreachable, export_engine
from tests.fakes.http_server import Reply, closed_port_url

DATABASE = "datalab01_20260112_102030123456"
LOCATION = f"/hive/db/{DATABASE}.db"


def failure_of(call) -> str:
    with pytest.raises(ExportStepError) as raised:
        call()
    return str(raised.value)


def steps_of(export) -> dict:
    return {step.name: step for step in export_engine().steps(export)}


def test_a_hive_export_prepares_the_database_exports_then_hands_the_database_over(hive_export):
    steps = export_engine().steps(hive_export)
    assert [(step.name, step.failure_prefix) for step in steps] == [
        ("create_hive_database", "Error while preparing DB for export: "),
        ("chown_to_hive_user", "Error while preparing DB for export: "),
        ("export", "Error while submitting the export: "),
        ("chown_to_datalab", "Could not conclude export: "),
    ]


def test_a_hive_export_without_datalab_cannot_run(hive_export):
    hive_export.datalab = None
    reason = failure_of(lambda: export_engine().steps(hive_export))
    assert reason == "A Hive export needs a datalab (the owner of the database)"


def test_the_steps_run_in_order_against_the_apis(hadoop_api, export_api, hive_export):
    """What the workflow does: start each step, and poll those that leave a remote task until it finished."""
    for step in export_engine().steps(hive_export):
        task_id = step.start(hive_export)
        if task_id:
            assert "finished" in [step.poll(task_id) for _ in range(3)]

    assert hadoop_api.databases == [{"name": DATABASE, "location": LOCATION, "if_not_exists": "True"}]
    assert hadoop_api.chowns == [
        {"location": LOCATION, "uid": "hive", "gid": "hdfs", "recursive": "True"},
        {"location": LOCATION, "uid": "datalab01", "gid": "hdfs", "recursive": "True"},
    ]
    assert all(request.headers["auth-token"] == hadoop_api.token for request in hadoop_api.requests)
    (document,) = export_api.documents
    assert document["output"] == {"type": "hive", "databaseName": DATABASE}
    assert document["pseudo"] == "datalab01"
    assert not export_api.webhdfs.exists(LOCATION)  # no archive for a Hive export


class TestDatabaseCreation:
    def test_the_creation_task_is_polled_on_the_hadoop_api(self, hadoop_api, hive_export):
        step = steps_of(hive_export)["create_hive_database"]
        task_id = step.start(hive_export)
        hadoop_api.script(task_id, ["Pending", "Running", "FinishedWithError"])
        assert [step.poll(task_id) for _ in range(3)] == ["pending", "started", "failed"]
        request = hadoop_api.requests_to("/hadoop/task_status")[0]
        assert request.query == {"task_uuid": [task_id], "return_out_logs": ["True"], "return_err_logs": ["True"]}

    def test_the_reason_of_a_creation_that_ended_badly(self, hive_export):
        assert steps_of(hive_export)["create_hive_database"].ended_badly("t-9", "cancelled") == (
            "Error while preparing DB for export: Job `t-9` creating the Hive database ended with status `cancelled`"
        )

    def test_a_refusal(self, hadoop_api, hive_export):
        hadoop_api.reply("POST", "/hadoop/hive/create_base_hive", Reply(status=503, json={"detail": "Hive is down"}))
        reason = failure_of(lambda: steps_of(hive_export)["create_hive_database"].start(hive_export))
        assert reason == "The Hadoop API refused the Hive database creation (HTTP 503: Hive is down)"

    def test_a_refused_connection(self, hadoop_api, hive_export, settings):
        settings.HADOOP_API_URL = closed_port_url()
        reason = failure_of(lambda: steps_of(hive_export)["create_hive_database"].start(hive_export))
        assert reason.endswith("could not be reached (Hive database creation)")

    def test_an_unconfigured_hadoop_api(self, hive_export, settings):
        settings.HADOOP_API_URL = ""
        reason = failure_of(lambda: steps_of(hive_export)["create_hive_database"].start(hive_export))
        assert reason == "The Hadoop API is not configured (HADOOP_API_URL is not set)"

    def test_an_unreadable_status_is_a_failed_status_request(self, hadoop_api, hive_export, settings):
        step = steps_of(hive_export)["create_hive_database"]
        task_id = step.start(hive_export)
        settings.EXTERNAL_API_TIMEOUT_SECONDS = 0.5
        hadoop_api.delay_seconds = 3
        with pytest.raises(RemoteTaskUnreachable, match=r"The Hadoop API did not answer within 0.5 seconds"):
            step.poll(task_id)


class TestOwnershipChanges:
    def test_a_change_completes_when_started(self, hadoop_api, hive_export):
        assert steps_of(hive_export)["chown_to_hive_user"].start(hive_export) is None
        assert hadoop_api.chowns == [{"location": LOCATION, "uid": "hive", "gid": "hdfs", "recursive": "True"}]

    def test_the_error_of_a_failed_change(self, hadoop_api, hive_export):
        hadoop_api.fail_chown("chown: user `datalab01` does not exist", uid="datalab01")
        steps = steps_of(hive_export)
        steps["chown_to_hive_user"].start(hive_export)
        reason = failure_of(lambda: steps["chown_to_datalab"].start(hive_export))
        assert (
            reason == f"The Hadoop API could not give {LOCATION} to datalab01: chown: user `datalab01` does not exist"
        )

    def test_a_success_needs_a_zero_return_code(self, hadoop_api, hive_export):
        hadoop_api.reply(
            "POST", "/hadoop/hdfs/chown_directory", Reply(json={"status": "success", "ret_code": 1, "err": "partial"})
        )
        reason = failure_of(lambda: steps_of(hive_export)["chown_to_hive_user"].start(hive_export))
        assert reason == f"The Hadoop API could not give {LOCATION} to hive: partial"

    def test_a_success_needs_a_success_status(self, hadoop_api, hive_export):
        hadoop_api.reply("POST", "/hadoop/hdfs/chown_directory", Reply(json={"status": "error", "ret_code": 0}))
        reason = failure_of(lambda: steps_of(hive_export)["chown_to_hive_user"].start(hive_export))
        assert reason == f'The Hadoop API could not give {LOCATION} to hive: {{"status": "error", "ret_code": 0}}'

    def test_an_answer_that_is_not_json(self, hadoop_api, hive_export):
        hadoop_api.reply("POST", "/hadoop/hdfs/chown_directory", Reply(status=502, body="Bad Gateway"))
        reason = failure_of(lambda: steps_of(hive_export)["chown_to_hive_user"].start(hive_export))
        assert reason == f"The Hadoop API could not give {LOCATION} to hive: Bad Gateway"
        assert len(hadoop_api.chowns) == 0

    def test_a_refused_connection(self, hadoop_api, hive_export, settings):
        settings.HADOOP_API_URL = closed_port_url()
        reason = failure_of(lambda: steps_of(hive_export)["chown_to_datalab"].start(hive_export))
        assert reason.endswith("could not be reached (ownership change)")

    def test_an_export_without_target_changes_nothing(self, hadoop_api, hive_export):
        hive_export.target_location = None
        reason = failure_of(lambda: steps_of(hive_export)["chown_to_hive_user"].start(hive_export))
        assert reason == "The export has no target (target_name and target_location must be set)"
        assert hadoop_api.requests == []
