"""Feasibility studies over the API (spec 02 §4.9, §8.1): creation, submission, callbacks, e-mails, download."""

from __future__ import annotations

import io
import time
import zipfile
from datetime import UTC, datetime

import pytest
from django.conf import settings
from django.core import mail
from rest_framework.test import APIClient

from accesses.models import Perimeter
from cohort.models import FeasibilityStudy, Request
from cohort.services import feasibility
from cohort.tests.test_feasibility_report import BICHAT, GH_NORD, REPORTING_TYPES, ROOT, build_reporting_tree
from tests.factories import RoleFactory, UserFactory, grant
from tests.fakes.query_executor import FakeQueryExecutor

QE = {"HTTP_AUTHORIZATION": "Bearer qe-static-token"}
LIST = "/cohort/feasibility-studies/"


def api_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def url(study) -> str:
    return f"{LIST}{study.uuid}/"


def read_right(user, perimeter: Perimeter) -> None:
    grant(user, RoleFactory(right_read_patient_nominative=True), perimeter)


@pytest.fixture
def qe_user(db):
    return UserFactory(username=settings.QUERY_EXECUTOR_USERNAME)


@pytest.fixture
def qe_client(qe_user):
    client = APIClient()
    client.credentials(**QE)
    return client


@pytest.fixture
def tree(db, settings):
    settings.REPORTING_PERIMETER_TYPES = REPORTING_TYPES
    return build_reporting_tree()


@pytest.fixture
def snapshot(make_snapshot, researcher, tree):
    read_right(researcher, tree["bichat"])
    return make_snapshot(researcher, perimeters=(BICHAT,))


@pytest.fixture
def make_study():
    def make(snapshot, **fields) -> FeasibilityStudy:
        fields.setdefault("request_job_status", "started")
        fields.setdefault("request_job_id", "qe-job-1")
        return FeasibilityStudy.objects.create(owner=snapshot.owner, request_query_snapshot=snapshot, **fields)

    return make


@pytest.fixture
def study(make_study, snapshot):
    return make_study(snapshot)


@pytest.fixture
def callback(qe_client, django_capture_on_commit_callbacks):
    """A PATCH as the QueryExecutor sends it; e-mails queued on commit are sent."""

    def send(study, body):
        with django_capture_on_commit_callbacks(execute=True):
            return qe_client.patch(url(study), body, format="json")

    return send


@pytest.fixture
def query_executor(settings):
    with FakeQueryExecutor() as qe:
        settings.QUERY_EXECUTOR_URL = qe.url
        yield qe


def run_task(study, django_capture_on_commit_callbacks) -> None:
    """What the `submit_feasibility_study` task does, in the test's process."""
    with django_capture_on_commit_callbacks(execute=True):
        feasibility.submit_study(str(study.pk), auth={"authorization": "Bearer user-token"}, task_id="task-1")


def refreshed(study) -> FeasibilityStudy:
    return FeasibilityStudy.all_objects.get(pk=study.pk)


def subjects() -> list[str]:
    return [message.subject for message in mail.outbox]


class TestCreate:
    def test_anonymous_callers_are_refused(self, anonymous, snapshot, study):
        assert anonymous.get(LIST).status_code == 403
        assert anonymous.get(url(study)).status_code == 403
        response = anonymous.post(LIST, {"request_query_snapshot_id": str(snapshot.uuid)}, format="json")
        assert response.status_code == 403
        assert FeasibilityStudy.objects.count() == 1

    def test_a_study_of_an_own_snapshot_starts_new(self, researcher_client, researcher, snapshot):
        response = researcher_client.post(LIST, {"request_query_snapshot_id": str(snapshot.uuid)}, format="json")
        assert response.status_code == 201, response.content
        created = FeasibilityStudy.objects.get()
        assert response.json() == {
            "uuid": str(created.uuid),
            "owner": researcher.username,
            "created_at": api_datetime(created.created_at),
            "request_job_status": "new",
            "request_job_fail_msg": "",
            "total_count": None,
            "request_query_snapshot": str(snapshot.uuid),
        }
        assert (created.owner, created.request_query_snapshot) == (researcher, snapshot)

    def test_the_plain_relation_name_is_accepted_too(self, researcher_client, snapshot):
        response = researcher_client.post(LIST, {"request_query_snapshot": str(snapshot.uuid)}, format="json")
        assert response.status_code == 201
        assert response.json()["request_query_snapshot"] == str(snapshot.uuid)

    def test_another_users_snapshot_is_refused(self, other_client, snapshot):
        response = other_client.post(LIST, {"request_query_snapshot_id": str(snapshot.uuid)}, format="json")
        assert response.status_code == 400
        assert "request_query_snapshot" in response.json()
        assert not FeasibilityStudy.objects.exists()

    @pytest.mark.parametrize(
        "body",
        [{}, {"request_query_snapshot_id": "not-a-uuid"}, {"request_query_snapshot_id": None}, ["a", "b"]],
    )
    def test_bad_bodies_are_refused(self, researcher_client, body):
        response = researcher_client.post(LIST, body, format="json")
        assert response.status_code == 400
        assert not FeasibilityStudy.objects.exists()

    def test_the_job_machine_may_neither_create_nor_delete(self, qe_client, snapshot, study):
        assert qe_client.post(LIST, {"request_query_snapshot_id": str(snapshot.uuid)}, format="json").status_code == 403
        assert qe_client.delete(url(study)).status_code == 403
        assert FeasibilityStudy.objects.count() == 1

    def test_studies_are_never_deleted_nor_replaced(self, researcher_client, study):
        assert researcher_client.delete(url(study)).status_code == 405
        assert researcher_client.put(url(study), {}, format="json").status_code == 405
        assert refreshed(study).deleted is None


class TestRead:
    def test_owners_see_their_own_studies_only(self, researcher_client, other_client, study):
        listed = researcher_client.get(LIST).json()
        assert (listed["count"], listed["results"][0]["uuid"]) == (1, str(study.uuid))
        assert other_client.get(LIST).json()["count"] == 0
        assert researcher_client.get(url(study)).json()["request_job_status"] == "started"
        assert other_client.get(url(study)).status_code == 404
        assert researcher_client.get(f"{LIST}not-a-uuid/").status_code == 404

    def test_the_list_costs_the_same_for_many_studies(self, researcher_client, make_study, snapshot, queries_of):
        make_study(snapshot)
        one = queries_of(researcher_client, LIST)
        for _ in range(4):
            make_study(snapshot)
        assert queries_of(researcher_client, LIST) == one

    def test_the_job_machine_sees_every_study(self, qe_client, study):
        assert qe_client.get(url(study)).status_code == 200
        assert qe_client.get(LIST).json()["count"] == 1

    def test_filter_by_snapshot_and_status(self, researcher_client, make_study, make_snapshot, researcher, study):
        second = make_study(make_snapshot(researcher, perimeters=(BICHAT,)), request_job_status="finished")
        by_snapshot = researcher_client.get(LIST, {"request_query_snapshot_id": str(second.request_query_snapshot_id)})
        assert [row["uuid"] for row in by_snapshot.json()["results"]] == [str(second.uuid)]
        by_status = researcher_client.get(LIST, {"status": "started"})
        assert [row["uuid"] for row in by_status.json()["results"]] == [str(study.uuid)]


class TestCallbacks:
    def test_finished_studies_store_the_report_and_tell_the_owner(self, callback, study, researcher):
        body = {"request_job_status": "FINISHED", "count": "1234", "extra": {ROOT: "1234", BICHAT: "25"}}
        response = callback(study, body)
        assert response.status_code == 200, response.content
        assert (response.json()["request_job_status"], response.json()["total_count"]) == ("finished", 1234)
        stored = refreshed(study)
        assert stored.request_job_duration.startswith("0:")
        assert stored.report_file and stored.report_json_content
        [message] = mail.outbox
        assert (message.subject, message.to) == ("Votre rapport est prêt", [researcher.email])
        assert f"{settings.FRONTEND_URL}/download/feasibility-studies/{study.uuid}/" in message.body
        assert "Request 1" in message.body

    def test_an_invalid_status_fails_the_study(self, callback, study):
        response = callback(study, {"request_job_status": "FAILED"})
        assert response.status_code == 400
        assert response.json() == "Bad Request: Invalid job status: FAILED"
        stored = refreshed(study)
        assert (stored.request_job_status, stored.request_job_fail_msg) == (
            "failed",
            "Bad Request: Invalid job status: FAILED",
        )
        assert subjects() == ["Votre demande de rapport a échoué"]

    @pytest.mark.parametrize("extra", [None, {}, "not a map"])
    def test_a_finished_study_without_perimeter_counts_fails(self, callback, study, extra):
        body = {"request_job_status": "FINISHED", "count": "12"}
        if extra is not None:
            body["extra"] = extra
        response = callback(study, body)
        assert response.status_code == 400
        assert response.json() == "Bad Request: Payload missing `extra` key"
        stored = refreshed(study)
        assert (stored.request_job_status, stored.request_job_fail_msg) == (
            "failed",
            "Bad Request: Payload missing `extra` key",
        )
        assert stored.report_file is None
        assert subjects() == ["Votre demande de rapport a échoué"]

    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            ({"request_job_status": "FINISHED", "count": "many", "extra": {ROOT: "1"}}, "`count` is not an integer"),
            ({"request_job_status": "FINISHED", "count": "1", "extra": {ROOT: "x"}}, f"`{ROOT}` is not an integer"),
        ],
    )
    def test_non_numeric_counts_fail_the_study(self, callback, study, body, reason):
        response = callback(study, body)
        assert response.status_code == 400
        assert reason in response.json()
        assert refreshed(study).request_job_status == "failed"
        assert subjects() == ["Votre demande de rapport a échoué"]

    def test_a_report_that_cannot_be_built_fails_the_study(self, callback, study):
        Perimeter.objects.filter(parent__isnull=True).update(level=2)  # the tree has lost its root
        response = callback(study, {"request_job_status": "FINISHED", "count": "3", "extra": {ROOT: "3"}})
        assert response.status_code == 400
        assert response.json().startswith("Error saving feasibility report - ")
        stored = refreshed(study)
        assert stored.request_job_status == "failed"
        assert stored.request_job_fail_msg == "Error saving feasibility report - the perimeter tree has no root"
        assert subjects() == ["Votre demande de rapport a échoué"]

    def test_a_failed_job_keeps_its_reason(self, callback, study):
        response = callback(study, {"request_job_status": "ERROR", "message": "Spark is down"})
        assert response.status_code == 200
        stored = refreshed(study)
        assert (stored.request_job_status, stored.request_job_fail_msg) == ("failed", "Spark is down")
        assert subjects() == ["Votre demande de rapport a échoué"]

    def test_intermediate_statuses_are_stored_without_e_mail(self, callback, make_study, snapshot):
        study = make_study(snapshot, request_job_status="pending")
        assert callback(study, {"request_job_status": "RUNNING"}).json()["request_job_status"] == "started"
        assert mail.outbox == []

    def test_duplicated_and_late_callbacks_change_nothing(self, callback, study):
        finished = {"request_job_status": "FINISHED", "count": "40", "extra": {ROOT: "40"}}
        callback(study, finished)
        report = bytes(refreshed(study).report_file)
        for late in (finished, {"request_job_status": "ERROR", "message": "late"}, {"request_job_status": "nope"}):
            response = callback(study, late)
            assert response.status_code in (200, 400)
        stored = refreshed(study)
        assert (stored.request_job_status, stored.total_count, stored.request_job_fail_msg) == ("finished", 40, "")
        assert bytes(stored.report_file) == report
        assert subjects() == ["Votre rapport est prêt"]

    def test_owners_cannot_update_their_study(self, researcher_client, other_client, study):
        for body in ({"request_job_status": "FINISHED", "count": "1", "extra": {ROOT: "1"}}, {"total_count": 5}):
            assert researcher_client.patch(url(study), body, format="json").status_code == 403
        assert other_client.patch(url(study), {"total_count": 5}, format="json").status_code == 404
        stored = refreshed(study)
        assert (stored.request_job_status, stored.total_count) == ("started", None)

    def test_a_body_that_is_not_an_object_is_refused(self, callback, study):
        assert callback(study, ["FINISHED"]).status_code == 400
        assert refreshed(study).request_job_status == "started"

    def test_an_unknown_study_is_not_found(self, qe_client):
        response = qe_client.patch(f"{LIST}8c1f8a8e-1111-2222-3333-444455556666/", {}, format="json")
        assert response.status_code == 404


class TestSubmission:
    def test_the_study_counts_per_perimeter_over_the_whole_hospital(
        self, query_executor, study, make_study, snapshot, researcher, django_capture_on_commit_callbacks
    ):
        new = make_study(snapshot, request_job_status="new", request_job_id="")
        run_task(new, django_capture_on_commit_callbacks)
        job = query_executor.wait_for_job()
        assert (job.mode, job.cohort_uuid, job.owner) == ("count_with_details", str(new.uuid), researcher.username)
        assert job.callback_path == f"/cohort/feasibility-studies/{new.uuid}/"
        assert job.syntax["sourcePopulation"]["caresiteCohortList"] == [int(ROOT)]
        stored = refreshed(new)
        assert (stored.request_job_status, stored.request_job_id) == ("started", job.job_id)
        [message] = mail.outbox
        assert (message.subject, message.to) == ("Votre demande de rapport", [researcher.email])
        assert "Request 1" in message.body

    def test_a_redelivered_task_submits_and_tells_once(
        self, query_executor, make_study, snapshot, django_capture_on_commit_callbacks
    ):
        new = make_study(snapshot, request_job_status="new", request_job_id="")
        run_task(new, django_capture_on_commit_callbacks)
        run_task(new, django_capture_on_commit_callbacks)
        assert len(query_executor.jobs) == 1
        assert subjects() == ["Votre demande de rapport"]

    def test_without_read_rights_nothing_is_submitted(
        self, query_executor, make_study, make_snapshot, other, tree, django_capture_on_commit_callbacks
    ):
        new = make_study(make_snapshot(other, perimeters=(BICHAT,)), request_job_status="new", request_job_id="")
        run_task(new, django_capture_on_commit_callbacks)
        stored = refreshed(new)
        assert stored.request_job_status == "failed"
        assert stored.request_job_fail_msg == f"Forbidden: no read access to the perimeter(s) {BICHAT}"
        assert query_executor.jobs == []
        assert subjects() == ["Votre demande de rapport a échoué"]

    @pytest.mark.parametrize("submission", ["refuse", "non_json"])
    def test_a_job_server_failure_fails_the_study(
        self, query_executor, make_study, snapshot, submission, django_capture_on_commit_callbacks
    ):
        query_executor.submission = submission
        new = make_study(snapshot, request_job_status="new", request_job_id="")
        run_task(new, django_capture_on_commit_callbacks)
        stored = refreshed(new)
        assert stored.request_job_status == "failed"
        assert "QueryExecutor" in stored.request_job_fail_msg
        assert subjects() == ["Votre demande de rapport a échoué"]

    def test_without_a_query_executor_the_study_fails(
        self, settings, make_study, snapshot, django_capture_on_commit_callbacks
    ):
        settings.QUERY_EXECUTOR_URL = ""
        new = make_study(snapshot, request_job_status="new", request_job_id="")
        run_task(new, django_capture_on_commit_callbacks)
        assert (
            refreshed(new).request_job_fail_msg == "The QueryExecutor is not configured (QUERY_EXECUTOR_URL is not set)"
        )
        assert subjects() == ["Votre demande de rapport a échoué"]

    def test_from_submission_to_download(
        self, query_executor, callback, researcher_client, make_study, snapshot, django_capture_on_commit_callbacks
    ):
        query_executor.perimeter_counts = {ROOT: 1500, GH_NORD: 120, BICHAT: 8}
        new = make_study(snapshot, request_job_status="new", request_job_id="")
        run_task(new, django_capture_on_commit_callbacks)
        job = query_executor.wait_for_job()
        assert callback(new, query_executor.callback_body(job)).status_code == 200
        assert subjects() == ["Votre demande de rapport", "Votre rapport est prêt"]
        response = researcher_client.get(f"{url(new)}download/")
        assert response.status_code == 200
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            [name] = archive.namelist()
            page = archive.read(name).decode()
        assert '<span id="count_p8001">120-130</span>' in page
        assert '<span id="count_p8002">&lt; 10</span>' in page


class TestDownload:
    @pytest.fixture
    def reported(self, callback, study):
        assert (
            callback(study, {"request_job_status": "FINISHED", "count": "9", "extra": {ROOT: "9"}}).status_code == 200
        )
        return refreshed(study)

    def test_the_owner_downloads_the_zipped_html_report(self, researcher_client, reported):
        response = researcher_client.get(f"{url(reported)}download/")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/zip"
        name = f"Rapport_{reported.created_at.strftime('%d-%m-%Y')}_Request 1..."
        assert response["Content-Disposition"] == f'attachment; filename="{name}.zip"'
        assert response.content == bytes(reported.report_file)
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            assert archive.namelist() == [f"{name}.html"]

    def test_names_beyond_latin_1_get_an_exact_utf8_name_too(self, researcher_client, reported):
        Request.objects.filter(pk=reported.request_query_snapshot.request_id).update(name="Cœur étude")
        disposition = researcher_client.get(f"{url(reported)}download/")["Content-Disposition"]
        date = reported.created_at.strftime("%d-%m-%Y")
        assert disposition == (
            f'attachment; filename="Rapport_{date}_C_ur étude....zip"; '
            f"filename*=UTF-8''Rapport_{date}_C%C5%93ur%20%C3%A9tude....zip"
        )

    def test_no_report_yet(self, researcher_client, study):
        response = researcher_client.get(f"{url(study)}download/")
        assert (response.status_code, response.json()) == (404, "Report not found")

    def test_only_the_owner_may_download(self, anonymous, other_client, qe_client, reported):
        assert anonymous.get(f"{url(reported)}download/").status_code == 403
        assert other_client.get(f"{url(reported)}download/").status_code == 404
        assert qe_client.get(f"{url(reported)}download/").status_code == 404


@pytest.mark.slow
class TestEndToEnd:
    def test_a_study_posted_by_the_web_app_ends_with_a_report(
        self, transactional_db, settings, celery_worker, live_server_url, make_client, make_snapshot
    ):
        """The real task queue, the fake QueryExecutor calling the ASGI server back."""
        researcher = UserFactory(email="researcher@example.org")
        UserFactory(username=settings.QUERY_EXECUTOR_USERNAME)
        tree = build_reporting_tree()
        read_right(researcher, tree["bichat"])
        snapshot = make_snapshot(researcher, perimeters=(BICHAT,))
        with FakeQueryExecutor(callback_base_url=live_server_url) as qe:
            settings.QUERY_EXECUTOR_URL = qe.url
            client = make_client(researcher)
            created = client.post(LIST, {"request_query_snapshot_id": str(snapshot.uuid)}, format="json")
            assert created.status_code == 201
            qe.wait_for_deliveries(1, timeout=30)
        assert qe.deliveries[0].status_code == 200
        study = FeasibilityStudy.objects.get(pk=created.json()["uuid"])
        deadline = time.monotonic() + 10
        while study.request_job_status != "finished" and time.monotonic() < deadline:
            time.sleep(0.1)
            study.refresh_from_db()
        assert (study.request_job_status, study.total_count) == ("finished", 1234)
        assert client.get(f"{url(study)}download/").status_code == 200
        assert "Votre demande de rapport" in subjects()
