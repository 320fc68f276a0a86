"""Actions on one export (spec 02 §15.3, §17.4; client contract EXP-5..7, §7.14): the owner's download and
retry, the full administrators' retry, relaunch and logs.

The engine is an in-process one (exports/tests/scripted_engine.py); the download through the real WebHDFS
fake is tested end to end with the exporters.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accesses.models import Access
from cohort.models import JobStatus
from exports.engine import ExportStepError, RemoteTimeout, StorageUnavailable
from exports.models import Export
from exports.tests.conftest import detail
from exports.tests.scripted_engine import MemoryStorage, ScriptedEngine, engine_in_use

pytestmark = pytest.mark.django_db

ARCHIVE = "/exports/csv/4000001_20260112_102030123456.zip"


class UnreachableEngine(ScriptedEngine):
    def storage(self) -> MemoryStorage:
        raise StorageUnavailable("No storage provider answered")

    def task_logs(self, task_id: str) -> dict:
        raise ExportStepError("Export API answered 502")


class SlowEngine(ScriptedEngine):
    def task_logs(self, task_id: str) -> dict:
        raise RemoteTimeout("The Export API did not answer within 30 seconds (task status request)")


@pytest.fixture
def engine():
    with engine_in_use(ScriptedEngine(files=MemoryStorage(files={ARCHIVE: b"PK\x03\x04 zipped rows"}))) as engine:
        yield engine


@pytest.fixture
def finished_csv(researcher, make_cohort, make_export) -> Export:
    return make_export(researcher, make_cohort(researcher, group_id="123456"))


class TestDownload:
    def test_the_owner_downloads_the_archive_as_a_stream(self, researcher_client, finished_csv, engine):
        response = researcher_client.get(f"{detail(finished_csv)}download/")
        assert response.status_code == 200
        assert response.streaming  # never loaded in memory
        assert response["Content-Type"] == "application/zip"
        assert response["Content-Length"] == str(len(b"PK\x03\x04 zipped rows"))
        assert response["Content-Disposition"] == "attachment; filename=export_123456.zip"
        assert b"".join(response.streaming_content) == b"PK\x03\x04 zipped rows"

    @pytest.mark.parametrize("who", ["other", "datalab_reader", "full_admin"])
    def test_only_the_owner_downloads(self, request, make_client, finished_csv, engine, who):
        client = make_client(request.getfixturevalue(who))
        assert client.get(f"{detail(finished_csv)}download/").status_code == 404

    @pytest.mark.parametrize(
        "change",
        [
            {"request_job_status": JobStatus.STARTED},
            {"request_job_status": JobStatus.FAILED},
            {"output_format": "hive"},
        ],
    )
    def test_only_finished_file_exports_are_downloadable(self, researcher_client, finished_csv, engine, change):
        Export.objects.filter(pk=finished_csv.pk).update(**change)
        response = researcher_client.get(f"{detail(finished_csv)}download/")
        assert response.status_code == 400
        assert response.json() == (
            "Error downloading files: The export is not done yet or has failed or not downloadable"
        )

    @pytest.mark.parametrize(
        "change",
        [
            {"created_at": timezone.now() - timedelta(days=8)},
            {"clean_datetime": timezone.now()},
        ],
    )
    def test_expired_files_are_no_longer_downloadable(self, researcher_client, finished_csv, engine, change):
        Export.objects.filter(pk=finished_csv.pk).update(**change)
        response = researcher_client.get(f"{detail(finished_csv)}download/")
        assert response.status_code == 400
        assert response.json() == "Error downloading files: The exported files are no longer available on the server."

    def test_a_missing_file_is_a_storage_error(self, researcher_client, finished_csv, engine):
        engine.files.files.clear()
        response = researcher_client.get(f"{detail(finished_csv)}download/")
        assert response.status_code == 502
        assert response.json() == f"Storage provider error: File does not exist: {ARCHIVE}"

    def test_an_unreachable_storage_is_503(self, researcher_client, finished_csv):
        with engine_in_use(UnreachableEngine()):
            response = researcher_client.get(f"{detail(finished_csv)}download/")
        assert response.status_code == 503
        assert response.json() == "Storage provider error: No storage provider answered"


class TestRetry:
    @pytest.fixture
    def failed(self, researcher, make_cohort, make_export) -> Export:
        return make_export(
            researcher,
            make_cohort(researcher),
            request_job_status=JobStatus.FAILED,
            request_job_fail_msg="Export terminated with an error",
        )

    @pytest.mark.parametrize("body", [{"signal": {}}, None])  # Cohort360's body, and the Portail's
    def test_the_owner_retries_a_failed_export(self, researcher_client, failed, body):
        response = researcher_client.post(f"{detail(failed)}retry/", body, format="json")
        assert response.status_code == 200
        assert response.json() == f"The export `{failed.pk}` has been relaunched"
        failed.refresh_from_db()
        assert (failed.request_job_status, failed.request_job_fail_msg, failed.retried) == ("new", "", True)

    def test_a_full_admin_retries_anybodys_export(self, admin_client, failed):
        assert admin_client.post(f"{detail(failed)}retry/").status_code == 200
        assert Export.objects.get().request_job_status == "new"

    @pytest.mark.parametrize("status", [JobStatus.FINISHED, JobStatus.PENDING, JobStatus.STARTED])
    def test_only_failed_exports_are_retried(self, researcher_client, failed, status):
        """A 400 rather than a 403: Cohort360 logs its user out on any 403 (client contract §7.14)."""
        Export.objects.filter(pk=failed.pk).update(request_job_status=status)
        response = researcher_client.post(f"{detail(failed)}retry/", {"signal": {}}, format="json")
        assert response.status_code == 400
        assert response.json() == "Only failed exports can be retried"
        assert Export.objects.get().request_job_status == status

    def test_other_users_cannot_retry(self, other_client, make_client, datalab_reader, failed):
        assert other_client.post(f"{detail(failed)}retry/").status_code == 404
        # An export administrator sees the export, but only its owner and full admins may retry it.
        assert make_client(datalab_reader).post(f"{detail(failed)}retry/").status_code == 403
        assert (Export.objects.get().request_job_status, Export.objects.get().retried) == ("failed", False)


class TestRelaunch:
    def test_a_full_admin_relaunches_a_copy_owned_by_the_owner(self, admin_client, researcher, finished_csv):
        response = admin_client.post(f"{detail(finished_csv)}relaunch/")
        assert response.status_code == 201, response.content
        copy = Export.objects.exclude(pk=finished_csv.pk).get()
        assert response.json()["uuid"] == str(copy.pk)
        assert response.json()["owner"] == researcher.pk
        assert [table["name"] for table in response.json()["export_tables"]] == ["person"]
        assert copy.target_name and copy.target_location  # validated and completed as a new export

    @pytest.mark.parametrize("who", ["researcher", "datalab_reader"])
    def test_only_full_admins_relaunch(self, request, make_client, finished_csv, who):
        response = make_client(request.getfixturevalue(who)).post(f"{detail(finished_csv)}relaunch/")
        assert response.status_code == 403
        assert Export.objects.count() == 1

    def test_the_owners_rights_are_checked_again(self, admin_client, researcher, finished_csv):
        """The reference copied the export unchecked (§15.3): an owner who lost their rights exports nothing."""
        Access.objects.filter(profile__user=researcher).update(end_datetime=timezone.now() - timedelta(minutes=1))
        response = admin_client.post(f"{detail(finished_csv)}relaunch/")
        assert response.status_code == 400
        (message,) = response.json()
        assert message.startswith("Invalid export data: The user is missing `right_read_patient_nominative`")
        assert Export.objects.count() == 1


class TestLogs:
    @pytest.fixture
    def failed(self, researcher, make_cohort, make_export) -> Export:
        return make_export(
            researcher, make_cohort(researcher), request_job_status=JobStatus.FAILED, request_job_id="task-42"
        )

    def test_a_full_admin_downloads_the_logs_as_json(self, admin_client, failed, engine):
        response = admin_client.get(f"{detail(failed)}logs/")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/json"
        assert response["Content-Disposition"] == (
            "attachment; filename=logs_export_4000001_20260112_102030123456.json"
        )
        assert json.loads(response.content) == engine.task_logs("task-42")
        assert response.content.decode() == json.dumps(engine.task_logs("task-42"), indent=4)

    def test_a_finished_export_has_no_logs(self, admin_client, finished_csv, engine):
        response = admin_client.get(f"{detail(finished_csv)}logs/")
        assert response.status_code == 200
        assert response.json() == "No logs available. The target export has finished successfully"

    def test_an_export_without_job_id_has_no_logs(self, admin_client, failed, engine):
        Export.objects.filter(pk=failed.pk).update(request_job_id="")
        response = admin_client.get(f"{detail(failed)}logs/")
        assert response.status_code == 400
        assert response.json() == "The target export has no job ID"

    def test_an_export_api_error_is_a_bad_gateway(self, admin_client, failed):
        with engine_in_use(UnreachableEngine()):
            response = admin_client.get(f"{detail(failed)}logs/")
        assert response.status_code == 502
        assert response.json() == "Error fetching logs: Export API answered 502"

    def test_an_export_api_answering_too_late_is_a_timeout(self, admin_client, failed):
        with engine_in_use(SlowEngine()):
            response = admin_client.get(f"{detail(failed)}logs/")
        assert response.status_code == 408
        assert response.json() == "Timeout while fetching logs. Please try again later."

    @pytest.mark.parametrize("who", ["researcher", "datalab_reader"])
    def test_only_full_admins_read_logs(self, request, make_client, failed, engine, who):
        assert make_client(request.getfixturevalue(who)).get(f"{detail(failed)}logs/").status_code == 403
