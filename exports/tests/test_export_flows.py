"""Exports end to end (spec 02 §16-§18): the API stores the export, a real Celery worker launches it and runs
the periodic poller, fakes on loopback play the Export API, the Hadoop API, WebHDFS and (for cohort subsets)
the QueryExecutor, which calls the live ASGI server back."""

from __future__ import annotations

import time

import pytest
from django.conf import settings
from django.core import mail

from accesses.services.perimeter_tree import rebuild_closure
from admin_cohort.celery import app
from cohort.models import CohortResult, FhirFilter, JobStatus
from cohort.tests.builders import cohort_of, measure_of, snapshot_of
from exports.models import Datalab, Export, InfrastructureProvider
from tests.factories import PerimeterFactory, RoleFactory, UserFactory, full_admin_role, grant
from tests.fakes.query_executor import FakeQueryExecutor

pytestmark = pytest.mark.slow
ENDED = {"finished", "failed", "cancelled", "unknown"}


@pytest.fixture
def researcher(transactional_db):
    UserFactory(username=settings.QUERY_EXECUTOR_USERNAME)
    UserFactory(username=settings.SOLR_ETL_USERNAME)
    root = PerimeterFactory(id=1, cohort_id="100", level=1)
    PerimeterFactory(id=2, cohort_id="101", parent=root, level=2)
    rebuild_closure()
    user = UserFactory(username="4000001", firstname="Alice", lastname="MARTIN", email="alice@example.org")
    role = RoleFactory(
        right_read_patient_nominative=True,
        right_read_patient_pseudonymized=True,
        right_export_csv_xlsx_nominative=True,
        right_export_jupyter_nominative=True,
        right_export_jupyter_pseudonymized=True,
    )
    grant(user, role, root)
    return user


@pytest.fixture
def source(researcher):
    measure = measure_of(snapshot_of(researcher, "101"), status=JobStatus.FINISHED, measure=1523)
    return cohort_of(measure, status=JobStatus.FINISHED, group_id="123456", name="My cohort")


@pytest.fixture
def export_api(export_api, celery_worker, settings):
    """The shared fake, with a worker to launch the exports and the poller, which polls at every round."""
    export_api.archive_size = 3_000_000
    export_api.statuses = ["Received", "Running", "FinishedSuccessfully"]
    settings.EXPORT_POLL_INTERVAL_SECONDS = 0
    return export_api


@pytest.fixture
def hadoop(hadoop_api, export_api):
    hadoop_api.statuses = ["Pending", "FinishedSuccessfully"]
    return hadoop_api


@pytest.fixture
def client(make_client, researcher):
    return make_client(researcher)


@pytest.fixture
def qe(live_server_url, export_api, settings):
    """The QueryExecutor creating the cohort subsets of filtered tables, calling the live server back."""
    with FakeQueryExecutor(callback_base_url=f"http://{live_server_url}") as fake:
        settings.QUERY_EXECUTOR_URL = fake.url
        yield fake


@pytest.fixture
def diabetes(researcher):
    return FhirFilter.objects.create(
        owner=researcher, fhir_resource="Condition", fhir_version="4.0", name="Diabetes", filter="code=E11"
    )


def wait_for_job_id(uuid: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not Export.objects.get(pk=uuid).step_task_id and time.monotonic() < deadline:
        time.sleep(0.1)


def post_export(client, body: dict) -> str:
    response = client.post("/exports/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["uuid"]


def csv_body(source, *tables: dict, output_format: str = "csv") -> dict:
    return {
        "motivation": "Study X\nphase 2",
        "output_format": output_format,
        "nominative": True,
        "shift_date": False,
        "group_tables": False,
        "export_tables": [
            {"table_name": "person", "cohort_result_source": str(source.uuid), "columns": ["person_id", "gender"]},
            *tables,
        ],
    }


def run_until_ended(uuid: str, timeout: float = 40) -> Export:
    """Plays the beat: the poller task goes through the worker until the export ends."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        export = Export.objects.get(pk=uuid)
        if export.request_job_status in ENDED:
            return export
        app.send_task("exports.tasks.poll_exports")
        time.sleep(0.2)
    raise AssertionError(f"export {uuid} still {Export.objects.get(pk=uuid).request_job_status}")


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


class TestCsvAndXlsx:
    @pytest.mark.parametrize("output_format", ["csv", "xlsx"])
    def test_an_export_runs_and_its_archive_is_downloaded(self, export_api, webhdfs, client, source, output_format):
        uuid = post_export(client, csv_body(source, output_format=output_format))
        export = run_until_ended(uuid)
        assert export.request_job_status == "finished", export.request_job_fail_msg
        document = export_api.documents[-1]
        directory = "/exports/xlsx" if output_format == "xlsx" else "/exports/csv"
        assert document["output"] == {"type": output_format, "filePath": f"{directory}/{export.target_name}.zip"}
        assert document["tablesToExport"] == [
            {"tableName": "person", "cohortId": "123456", "relation": True, "columnsToExport": ["person_id", "gender"]}
        ]
        assert (document["noDateShift"], document["disableTerminology"]) == (True, False)
        assert export.request_job_id == export_api.task_ids[-1] and export.is_user_notified
        assert export.motivation == "Study X - phase 2"
        assert subjects() == [
            "[Cohorte 123456] Demande d'export `My cohort` reçue",
            "[Cohorte 123456] Export `My cohort` terminé",
        ]

        response = client.get(f"/exports/{uuid}/download/")
        assert response.status_code == 200
        assert response["Content-Disposition"] == "attachment; filename=export_123456.zip"
        assert int(response["Content-Length"]) == 3_000_000
        content = b"".join(response.streaming_content)
        assert content == webhdfs.local_path(f"{directory}/{export.target_name}.zip").read_bytes()

    @pytest.mark.parametrize("output_format", ["csv", "xlsx"])
    def test_an_export_api_refusal_fails_the_export_and_tells_owner_and_admins(
        self, export_api, client, source, settings, output_format
    ):
        settings.ADMINS = [("Admin", "admin@example.org")]
        export_api.submission = "reject"
        export_api.reject_detail = "tablesToExport: unknown table"
        export = run_until_ended(post_export(client, csv_body(source, output_format=output_format)))
        assert export.request_job_status == "failed"
        assert "422" in export.request_job_fail_msg and "unknown table" in export.request_job_fail_msg
        assert subjects()[1:] == [
            "[Cohorte 123456] Votre demande d'export `My cohort` n'a pas abouti",
            "Demande d'export échouée",
        ]

    @pytest.mark.parametrize("output_format", ["csv", "xlsx"])
    def test_a_task_ending_with_an_error_fails_the_export(self, export_api, client, source, output_format):
        export_api.statuses = ["Running", "FinishedWithError"]
        export = run_until_ended(post_export(client, csv_body(source, output_format=output_format)))
        assert export.request_job_fail_msg == (
            f"Export terminated with an error: Job `{export.request_job_id}` ended with status `failed`"
        )

    @pytest.mark.parametrize("output_format", ["csv", "xlsx"])
    def test_an_export_running_too_long_fails(self, export_api, client, source, settings, output_format):
        export_api.statuses = ["Running"]
        uuid = post_export(client, csv_body(source, output_format=output_format))
        wait_for_job_id(uuid)
        settings.EXPORT_TIMEOUT_HOURS = 0
        export = run_until_ended(uuid)
        assert export.request_job_fail_msg == "The export did not finish within 0 hours"

    def test_a_failed_export_is_retried_by_its_owner(self, export_api, client, source):
        export_api.statuses = ["FinishedWithError"]
        uuid = post_export(client, csv_body(source))
        assert run_until_ended(uuid).request_job_status == "failed"
        export_api.statuses = ["Running", "FinishedSuccessfully"]
        response = client.post(f"/exports/{uuid}/retry/", {"signal": {}}, format="json")
        assert response.status_code == 200, response.content
        export = run_until_ended(uuid)
        assert (export.request_job_status, export.retried) == ("finished", True)
        assert len(export_api.documents) == 2


class TestSubsets:
    def test_filtered_tables_are_exported_from_their_subsets(self, qe, export_api, client, source, diabetes):
        table = {"table_name": "condition_occurrence", "cohort_result_source": str(source.uuid)}
        uuid = post_export(client, csv_body(source, {**table, "fhir_filter": str(diabetes.uuid)}))
        export = run_until_ended(uuid)
        assert export.request_job_status == "finished", export.request_job_fail_msg
        subset = CohortResult.all_objects.get(is_subset=True)
        assert subset.request_job_status == "finished" and subset.group_id
        job = qe.job(str(subset.uuid))
        assert job.syntax["sourcePopulation"]["caresiteCohortList"] == [123456]
        assert export_api.documents[-1]["tablesToExport"][1] == {
            "tableName": "condition_occurrence",
            "relation": True,
            "cohortId": subset.group_id,
        }

    def test_a_failed_subset_fails_the_export(self, qe, export_api, client, source, diabetes):
        qe.scenario = "error"
        table = {"table_name": "condition_occurrence", "cohort_result_source": str(source.uuid)}
        export = run_until_ended(post_export(client, csv_body(source, {**table, "fhir_filter": str(diabetes.uuid)})))
        assert export.request_job_fail_msg == "One or multiple cohort subsets has failed"
        assert export_api.documents == []

    def test_a_subset_failing_at_submission_fails_the_export(self, qe, export_api, client, source, diabetes):
        qe.submission = "http_500"
        table = {"table_name": "condition_occurrence", "cohort_result_source": str(source.uuid)}
        export = run_until_ended(post_export(client, csv_body(source, {**table, "fhir_filter": str(diabetes.uuid)})))
        assert export.request_job_fail_msg == "One or multiple cohort subsets has failed"


class TestHive:
    @pytest.fixture
    def datalab(self, db):
        provider = InfrastructureProvider.objects.create(name="Provider")
        return Datalab.objects.create(name="datalab01", infrastructure_provider=provider)

    def body(self, source, datalab, fhir_filter=None) -> dict:
        """What the Portail's Jupyter transfer form posts (client contract EXP-4): a `patient` table."""
        table = {"table_name": "patient", "cohort_result_source": str(source.uuid), "respect_table_relationships": True}
        if fhir_filter is not None:
            table["fhir_filter"] = str(fhir_filter.uuid)
        return {
            "output_format": "hive",
            "datalab": str(datalab.uuid),
            "export_tables": [table],
            "nominative": False,
            "shift_dates": True,
        }

    def test_a_transfer_prepares_the_database_exports_and_hands_it_to_the_datalab(
        self, hadoop, export_api, client, source, datalab, settings
    ):
        export = run_until_ended(post_export(client, self.body(source, datalab)))
        assert export.request_job_status == "finished", export.request_job_fail_msg
        location = f"{settings.HIVE_DB_PATH}/{export.target_name}.db"
        assert [(d["name"], d["location"]) for d in hadoop.databases] == [(export.target_name, location)]
        assert [(c["location"], c["uid"]) for c in hadoop.chowns] == [
            (location, settings.HIVE_USER),
            (location, "datalab01"),
        ]
        document = export_api.documents[-1]
        assert document["output"] == {"type": "hive", "databaseName": export.target_name}
        assert document["tablesToExport"] == [{"tableName": "person", "cohortId": "123456", "relation": True}]
        assert (document["pseudo"], document["noDateShift"]) == ("datalab01", False)
        assert subjects()[-1] == "[Cohorte 123456] Export `My cohort` terminé"

    def test_a_failed_conclusion_fails_the_export_and_sends_no_success(
        self, hadoop, export_api, client, source, datalab
    ):
        hadoop.fail_chown("chown: user datalab01 does not exist", uid="datalab01")
        export = run_until_ended(post_export(client, self.body(source, datalab)))
        assert export.request_job_fail_msg.startswith("Could not conclude export: ")
        assert "does not exist" in export.request_job_fail_msg
        assert not any("terminé" in subject for subject in subjects())

    def test_a_failed_database_creation_fails_the_export_before_any_export(
        self, hadoop, export_api, client, source, datalab
    ):
        hadoop.statuses = ["Failure"]
        export = run_until_ended(post_export(client, self.body(source, datalab)))
        assert export.request_job_fail_msg.startswith("Error while preparing DB for export: ")
        assert export_api.documents == []

    def test_an_export_api_refusal_fails_the_transfer_and_the_database_stays_with_hive(
        self, hadoop, export_api, client, source, datalab, settings
    ):
        export_api.submission = "reject"
        export = run_until_ended(post_export(client, self.body(source, datalab)))
        assert export.request_job_fail_msg.startswith("Error while submitting the export: ")
        assert "422" in export.request_job_fail_msg
        assert [c["uid"] for c in hadoop.chowns] == [settings.HIVE_USER]  # never handed to the datalab
        assert not any("terminé" in subject for subject in subjects())

    def test_a_failed_subset_fails_the_transfer_before_the_database_is_made(
        self, qe, hadoop, export_api, client, source, datalab, diabetes
    ):
        qe.scenario = "error"
        export = run_until_ended(post_export(client, self.body(source, datalab, fhir_filter=diabetes)))
        assert export.request_job_fail_msg == "One or multiple cohort subsets has failed"
        assert (hadoop.databases, export_api.documents) == ([], [])

    def test_a_database_creation_running_too_long_fails_the_transfer(
        self, hadoop, export_api, client, source, datalab, settings
    ):
        hadoop.statuses = ["Running"]
        uuid = post_export(client, self.body(source, datalab))
        wait_for_job_id(uuid)
        settings.EXPORT_TIMEOUT_HOURS = 0
        export = run_until_ended(uuid)
        assert export.request_job_fail_msg == "The export did not finish within 0 hours"
        assert export_api.documents == []


class TestAdministration:
    def test_an_admin_relaunches_an_export_as_a_new_one_with_its_own_target(
        self, export_api, make_client, client, source
    ):
        uuid = post_export(client, csv_body(source))
        first = run_until_ended(uuid)
        admin = UserFactory(email="admin@example.org")
        grant(admin, full_admin_role())
        response = make_client(admin).post(f"/exports/{uuid}/relaunch/")
        assert response.status_code == 201, response.content
        relaunched = run_until_ended(response.json()["uuid"])
        assert relaunched.owner == first.owner and relaunched.request_job_status == "finished"
        assert relaunched.target_name and relaunched.target_name != first.target_name

    def test_expired_files_are_deleted_by_the_cleaner(self, export_api, webhdfs, client, source, settings):
        export = run_until_ended(post_export(client, csv_body(source)))
        path = f"{export.target_full_path}.zip"
        assert webhdfs.exists(path)
        settings.DAYS_TO_KEEP_EXPORTED_FILES = 0
        app.send_task("exports.tasks.delete_exported_files")
        deleted = "[Cohorte 123456] Confirmation de suppression de fichiers exportés"
        deadline = time.monotonic() + 20
        while deleted not in subjects() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert subjects()[-1] == deleted
        assert Export.objects.get(pk=export.pk).clean_datetime is not None
        assert not webhdfs.exists(path)
        assert client.get(f"/exports/{export.pk}/download/").status_code == 400
