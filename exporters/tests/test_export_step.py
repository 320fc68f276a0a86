"""The Export API step of CSV/XLSX exports against the fake Export API (spec 02 §17.1, §17.2, spec 03 §6)."""

from __future__ import annotations

import pytest

from exporters.engine import ApiExportEngine
from exporters.steps import ExportApiStep
from exports.engine import ExportStepError, RemoteTaskUnreachable, RemoteTimeout, export_engine
from tests.fakes.http_server import closed_port_url


def failure_of(call) -> str:
    with pytest.raises(ExportStepError) as raised:
        call()
    return str(raised.value)


def export_step(export) -> ExportApiStep:
    (step,) = export_engine().steps(export)
    return step


class TestSteps:
    def test_the_installed_engine_is_this_one(self):
        assert isinstance(export_engine(), ApiExportEngine)

    @pytest.mark.parametrize("output_format", ["csv", "xlsx"])
    def test_downloadable_exports_have_one_step(self, make_export, make_cohort, output_format):
        export = make_export(output_format, tables=[{"name": "person", "cohort_result_source": make_cohort()}])
        steps = export_engine().steps(export)
        assert [(step.name, step.failure_prefix) for step in steps] == [
            ("export", "Error while submitting the export: ")
        ]

    def test_an_unknown_format_cannot_run(self, make_export, make_cohort):
        export = make_export(tables=[{"name": "person", "cohort_result_source": make_cohort()}])
        export.output_format = "parquet"
        assert failure_of(lambda: export_engine().steps(export)) == "Unknown output format `parquet`"


class TestSubmission:
    def test_the_parameter_document_is_sent_as_a_yaml_file(self, export_api, csv_export):
        task_id = export_step(csv_export).start(csv_export)

        assert export_api.task_ids == [task_id]
        assert export_api.document_of(task_id) == {
            "joinOnPrimaryKey": False,
            "output": {"type": "csv", "filePath": "/exports/csv/1234567_20260112_102030123456.zip"},
            "overwrite": True,
            "tablesToExport": [
                {
                    "tableName": "person",
                    "cohortId": "123456",
                    "relation": True,
                    "columnsToExport": ["person_id", "gender"],
                },
                {"tableName": "note", "relation": True, "cohortId": "123999"},
            ],
            "noDateShift": True,
            "disableTerminology": False,
        }
        (upload,) = export_api.uploads
        assert (upload.field_name, upload.filename, upload.content_type) == (
            "yaml_file",
            "yaml_file.yaml",
            "application/x-yaml",
        )
        assert upload.text.startswith("joinOnPrimaryKey: false\noutput:\n  type: csv\n")
        (request,) = export_api.requests_to("/yaml", "POST")
        assert request.headers["auth-token"] == export_api.token

    def test_tables_follow_the_patient_table_in_creation_order(self, export_api, make_export, make_cohort):
        cohort = make_cohort("42")
        export = make_export(
            tables=[
                {"name": "visit_occurrence", "cohort_result_source": cohort},
                {"name": "person", "cohort_result_source": cohort},
                {"name": "note", "cohort_result_source": cohort},
                {"name": "drug_exposure", "cohort_result_source": cohort},
            ]
        )
        task_id = export_step(export).start(export)
        tables = [table["tableName"] for table in export_api.document_of(task_id)["tablesToExport"]]
        assert tables == ["person", "visit_occurrence", "note", "drug_exposure"]

    def test_a_pseudonymised_export_names_its_datalab(self, export_api, make_export, make_cohort, datalab):
        export = make_export(
            nominative=False,
            shift_dates=True,
            datalab=datalab,
            tables=[{"name": "person", "cohort_result_source": make_cohort()}],
        )
        document = export_api.document_of(export_step(export).start(export))
        assert (document["noDateShift"], document["pseudo"]) == (False, "datalab01")

    def test_the_translation_setting_is_forwarded(self, export_api, csv_export, settings):
        settings.DISABLE_DATA_TRANSLATION = "True"
        task_id = export_step(csv_export).start(csv_export)
        assert export_api.document_of(task_id)["disableTerminology"] == "True"

    def test_an_export_without_patient_table_is_not_sent(self, export_api, make_export, make_cohort):
        export = make_export(tables=[{"name": "note", "cohort_result_source": make_cohort()}])
        reason = failure_of(lambda: export_step(export).start(export))
        assert reason == "The export has no patient table (one of person, patient)"
        assert export_api.requests == []

    def test_a_cohort_without_patient_list_is_not_sent(self, export_api, make_export, make_cohort):
        export = make_export(tables=[{"name": "person", "cohort_result_source": make_cohort(group_id="")}])
        reason = failure_of(lambda: export_step(export).start(export))
        assert reason == "The cohort of the `person` table has no patient list (group id) yet"
        assert export_api.requests == []


class TestSubmissionFailures:
    def test_a_refusal_gives_the_status_and_the_detail(self, export_api, csv_export):
        export_api.submission = "reject"
        export_api.reject_detail = "Table `nope` does not exist"
        reason = failure_of(lambda: export_step(csv_export).start(csv_export))
        assert reason == "The Export API refused the export submission (HTTP 422: Table `nope` does not exist)"

    def test_a_wrong_token(self, export_api, csv_export, settings):
        settings.EXPORT_API_AUTH_TOKEN = "stale-token"
        reason = failure_of(lambda: export_step(csv_export).start(csv_export))
        assert reason == "The Export API refused the export submission (HTTP 401: Invalid authentication token)"
        assert export_api.documents == []

    def test_a_non_json_answer(self, export_api, csv_export):
        export_api.submission = "non_json"
        reason = failure_of(lambda: export_step(csv_export).start(csv_export))
        assert reason == (
            "The Export API answered the export submission with something that is not a JSON object "
            "(HTTP 200, text/html)"
        )

    def test_an_answer_without_task_id(self, export_api, csv_export):
        export_api.submission = "no_task_id"
        reason = failure_of(lambda: export_step(csv_export).start(csv_export))
        assert reason == "The Export API accepted the export submission but answered no task id"

    def test_a_refused_connection(self, export_api, csv_export, settings):
        settings.EXPORT_API_URL = closed_port_url()
        reason = failure_of(lambda: export_step(csv_export).start(csv_export))
        assert reason.startswith("The Export API at 127.0.0.1:")
        assert reason.endswith(" could not be reached (export submission)")

    def test_a_timeout(self, export_api, csv_export, settings):
        settings.EXTERNAL_API_TIMEOUT_SECONDS = 0.5
        export_api.delay_seconds = 3
        reason = failure_of(lambda: export_step(csv_export).start(csv_export))
        assert reason == "The Export API did not answer within 0.5 seconds (export submission)"
        assert len(export_api.requests_to("/yaml")) == 1  # a submission is never sent twice

    def test_an_unconfigured_export_api(self, csv_export, settings):
        settings.EXPORT_API_URL = ""
        reason = failure_of(lambda: export_step(csv_export).start(csv_export))
        assert reason == "The Export API is not configured (EXPORT_API_URL is not set)"


class TestPolling:
    @pytest.fixture
    def task_id(self, export_api, csv_export):
        return export_step(csv_export).start(csv_export)

    def test_each_status_request_moves_the_task_along_its_script(self, export_api, csv_export, task_id):
        step = export_step(csv_export)
        assert [step.poll(task_id) for _ in range(4)] == ["new", "started", "finished", "finished"]
        request = export_api.requests_to("/task_status")[0]
        assert request.query == {"task_uuid": [task_id], "return_out_logs": ["True"], "return_err_logs": ["True"]}
        assert request.headers["auth-token"] == export_api.token

    @pytest.mark.parametrize(
        ("task_status", "status"),
        [
            ("Received", "new"),
            ("Pending", "pending"),
            ("Retry", "pending"),
            ("Running", "started"),
            ("FinishedSuccessfully", "finished"),
            ("FinishedWithError", "failed"),
            ("FinishedWithTimeout", "failed"),
            ("flowerNotAccessible", "failed"),
            ("Failure", "failed"),
            ("NotFound", "failed"),
            ("Revoked", "cancelled"),
            ("SomethingNew", "unknown"),
            ("finishedsuccessfully", "unknown"),
        ],
    )
    def test_task_statuses_map_to_job_statuses(self, export_api, csv_export, task_id, task_status, status):
        export_api.script(task_id, [task_status])
        assert export_step(csv_export).poll(task_id) == status

    def test_an_unknown_task_has_failed(self, export_api, csv_export):
        assert export_step(csv_export).poll("no-such-task") == "failed"

    def test_a_status_document_without_status_is_unknown(self, export_api, csv_export, task_id):
        export_api.status_answer = "no_status"
        assert export_step(csv_export).poll(task_id) == "unknown"

    def test_a_non_json_answer_is_a_failed_status_request(self, export_api, csv_export, task_id):
        export_api.status_answer = "non_json"
        with pytest.raises(RemoteTaskUnreachable, match="not a JSON object"):
            export_step(csv_export).poll(task_id)

    def test_an_http_error_is_a_failed_status_request(self, export_api, csv_export, task_id):
        export_api.status_answer = "http_500"
        with pytest.raises(RemoteTaskUnreachable, match=r"refused the task status request \(HTTP 500"):
            export_step(csv_export).poll(task_id)

    def test_a_refused_connection_is_a_failed_status_request(self, export_api, csv_export, task_id, settings):
        settings.EXPORT_API_URL = closed_port_url()
        with pytest.raises(RemoteTaskUnreachable, match="could not be reached"):
            export_step(csv_export).poll(task_id)

    def test_a_timeout_is_a_failed_status_request(self, export_api, csv_export, task_id, settings):
        settings.EXTERNAL_API_TIMEOUT_SECONDS = 0.5
        export_api.delay_seconds = 3
        with pytest.raises(RemoteTaskUnreachable) as raised:
            export_step(csv_export).poll(task_id)
        assert str(raised.value) == "The Export API did not answer within 0.5 seconds (task status request)"

    def test_an_unconfigured_export_api_is_a_failed_status_request(self, csv_export, settings):
        settings.EXPORT_API_URL = ""
        with pytest.raises(RemoteTaskUnreachable, match=r"EXPORT_API_URL is not set"):
            export_step(csv_export).poll("task-1")

    def test_the_reason_of_a_task_that_ended_badly(self, csv_export):
        assert export_step(csv_export).ended_badly("t-1", "failed") == (
            "Export terminated with an error: Job `t-1` ended with status `failed`"
        )


class TestTaskLogs:
    def test_the_status_document_of_a_task(self, export_api, csv_export):
        task_id = export_step(csv_export).start(csv_export)
        logs = export_engine().task_logs(task_id)
        assert logs == {"task_status": "Received", "stdout": f"{task_id}: Received", "stderr": ""}

    def test_an_unreadable_document(self, export_api):
        export_api.status_answer = "non_json"
        assert "not a JSON object" in failure_of(lambda: export_engine().task_logs("t-1"))

    def test_an_unreachable_export_api(self, export_api, settings):
        settings.EXPORT_API_URL = closed_port_url()
        assert "could not be reached (task status request)" in failure_of(lambda: export_engine().task_logs("t-1"))

    def test_an_export_api_answering_too_late_once_is_a_timeout(self, export_api, settings):
        settings.EXTERNAL_API_TIMEOUT_SECONDS = 0.5  # below the 30 s an administrator waits at most
        export_api.delay_seconds = 3
        with pytest.raises(RemoteTimeout, match=r"did not answer within 0\.5 seconds"):
            export_engine().task_logs("t-1")
        assert len(export_api.requests_to("/task_status")) == 1  # nobody waits for retries
