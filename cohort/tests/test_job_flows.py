"""Counts and cohort creations end to end: a real Celery worker submits to a fake QueryExecutor on loopback,
which calls the live ASGI server back; the owner follows it all on a real websocket (spec 02 §6, §7, §12)."""

from __future__ import annotations

import pytest
import requests
from django.conf import settings

from accesses.services.perimeter_tree import rebuild_closure
from admin_cohort.tests.websocket_client import assert_silent, authenticated_socket, receive
from cohort.models import CohortResult, DatedMeasure
from cohort.services import notifications
from cohort.tests.builders import cohort_of, measure_of, snapshot_of
from tests.factories import PerimeterFactory, RoleFactory, UserFactory, grant
from tests.fakes.query_executor import FakeQueryExecutor

pytestmark = pytest.mark.slow
FINAL = {"finished", "failed", "cancelled", "long_pending"}


@pytest.fixture
def researcher(transactional_db):
    UserFactory(username=settings.QUERY_EXECUTOR_USERNAME)
    UserFactory(username=settings.SOLR_ETL_USERNAME)
    root = PerimeterFactory(id=1, cohort_id="100", level=1)
    PerimeterFactory(id=2, cohort_id="101", parent=root, level=2)
    rebuild_closure()
    user = UserFactory()
    grant(user, RoleFactory(right_read_patient_nominative=True), root)
    return user


@pytest.fixture
def qe(live_server_url, celery_worker, settings):
    with FakeQueryExecutor(callback_base_url=f"http://{live_server_url}") as fake:
        settings.QUERY_EXECUTOR_URL = fake.url
        yield fake


@pytest.fixture
def socket(live_server_url, researcher):
    with authenticated_socket(live_server_url, researcher.username) as opened:
        yield opened


@pytest.fixture
def client(make_client, researcher):
    return make_client(researcher)


def follow(socket, uuid, until=FINAL) -> list[dict]:
    """The job_status frames about `uuid` up to the first one whose status is in `until`."""
    frames = []
    while True:
        frame = receive(socket)
        if frame.get("uuid") != str(uuid):
            continue
        frames.append(frame)
        if frame["status"] in until:
            return frames


def count(client, snapshot, details=None) -> str:
    body = {
        "request_query_snapshot_id": str(snapshot.uuid),
        "request_id": str(snapshot.request_id),
        "stageDetails": details,
    }
    response = client.post("/cohort/dated-measures/", body, format="json")
    assert response.status_code == 201, response.content
    return response.json()["uuid"]


class TestCounts:
    def test_a_count_is_submitted_called_back_and_pushed(self, qe, socket, client, researcher):
        snapshot = snapshot_of(researcher, "101")
        uuid = count(client, snapshot, details="all")
        frames = follow(socket, uuid)
        assert frames[-1]["status"] == "finished"
        assert frames[-1]["extra_info"]["measure"] == qe.count
        assert frames[-1]["extra_info"]["snapshot_id"] == str(snapshot.uuid)
        assert frames[-1]["extra_info"]["extra"]["criteria_count_1"]
        assert {f["status"] for f in frames[:-1]} <= {"pending", "started"}
        job = qe.job(uuid)
        assert (job.mode, job.owner, job.details) == ("count", researcher.username, "all")
        assert job.syntax["instance_id"] == uuid
        assert job.syntax["sourcePopulation"]["caresiteCohortList"] == [101]
        measure = DatedMeasure.objects.get(pk=uuid)
        assert (measure.request_job_status, measure.measure, measure.request_job_id) == (
            "finished",
            qe.count,
            job.job_id,
        )
        assert measure.count_task_id

    def test_a_started_frame_sent_after_the_finished_one_never_reaches_the_owner(self, qe, socket, client, researcher):
        # The worker's `started` and the callback's `finished` come from two processes: if the worker is slower
        # to publish, its frame must not leave the client showing a finished count as running.
        uuid = count(client, snapshot_of(researcher, "101"))
        assert follow(socket, uuid)[-1]["status"] == "finished"
        late = DatedMeasure.objects.get(pk=uuid)
        late.request_job_status = "started"
        notifications.job_status_changed(late)
        assert_silent(socket)

    @pytest.mark.parametrize(("scenario", "status"), [("error", "failed"), ("killed", "cancelled")])
    def test_failed_and_killed_jobs(self, qe, socket, client, researcher, scenario, status):
        qe.scenario = scenario
        uuid = count(client, snapshot_of(researcher, "101"))
        last = follow(socket, uuid)[-1]
        assert last["status"] == status
        if status == "failed":
            assert last["extra_info"]["request_job_fail_msg"] == qe.error_message
        assert DatedMeasure.objects.get(pk=uuid).request_job_status == status

    @pytest.mark.parametrize("failure", ["refuse", "timeout", "non_json", "no_status", "http_500"])
    def test_every_submission_failure_fails_the_count_with_a_reason(
        self, qe, socket, client, researcher, settings, failure
    ):
        settings.JOB_SERVER_TIMEOUT_SECONDS = 1
        qe.hang_seconds = 3
        qe.submission = failure
        uuid = count(client, snapshot_of(researcher, "101"))
        last = follow(socket, uuid)[-1]
        assert last["status"] == "failed"
        assert last["extra_info"]["request_job_fail_msg"]
        measure = DatedMeasure.objects.get(pk=uuid)
        assert measure.request_job_status == "failed" and measure.request_job_fail_msg

    def test_out_of_order_and_duplicated_callbacks(self, qe, socket, client, researcher):
        qe.hold_callbacks = True
        uuid = count(client, snapshot_of(researcher, "101"))
        follow(socket, uuid, until={"started"})
        job = qe.wait_for_job()
        finished = qe.callback_for(job, "finished")
        assert qe.deliver(finished) == 200
        assert follow(socket, uuid)[-1]["status"] == "finished"
        assert qe.deliver(finished) == 200
        assert qe.deliver(qe.callback_for(job, "error")) == 200
        assert_silent(socket)
        measure = DatedMeasure.objects.get(pk=uuid)
        assert (measure.request_job_status, measure.measure, measure.request_job_fail_msg) == ("finished", qe.count, "")

    def test_a_new_count_cancels_the_running_one(self, qe, socket, client, researcher):
        qe.scenario = "none"
        snapshot = snapshot_of(researcher, "101")
        first = count(client, snapshot)
        follow(socket, first, until={"started"})
        qe.scenario = "finished"
        second = count(client, snapshot)
        assert follow(socket, first)[-1]["status"] == "cancelled"
        assert follow(socket, second)[-1]["status"] == "finished"
        assert [r.path for r in qe.requests if r.method == "DELETE"] == [f"/jobs/{qe.job(first).job_id}"]

    def test_a_count_on_perimeters_out_of_reach_fails_without_reaching_the_executor(
        self, qe, socket, client, researcher
    ):
        PerimeterFactory(id=3, cohort_id="300", level=1)
        uuid = count(client, snapshot_of(researcher, "101", "300"))
        last = follow(socket, uuid)[-1]
        assert last["status"] == "failed"
        assert last["extra_info"]["request_job_fail_msg"] == "Forbidden: no read access to the perimeter(s) 300"
        assert qe.jobs == []


class TestCohortCreation:
    def create(self, client, measure, **extra) -> str:
        body = {
            "dated_measure_id": str(measure.uuid),
            "request_query_snapshot_id": str(measure.request_query_snapshot_id),
            "name": "Cohorte",
            "global_estimate": False,
            **extra,
        }
        response = client.post("/cohort/cohorts/", body, format="json")
        assert response.status_code == 201, response.content
        return response.json()["uuid"]

    def test_a_small_cohort(self, qe, socket, client, researcher):
        measure = measure_of(snapshot_of(researcher, "101"), status="finished", measure=1523)
        uuid = self.create(client, measure)
        last = follow(socket, uuid, until={"finished", "failed"})[-1]
        assert last["job_name"] == "create" and last["status"] == "finished"
        assert last["extra_info"]["group_id"] == CohortResult.objects.get(pk=uuid).group_id != ""
        job = qe.job(uuid)
        assert (job.mode, job.owner) == ("create", researcher.username)

    def test_a_large_cohort_is_finished_by_the_solr_etl(
        self, qe, socket, client, researcher, live_server_url, settings
    ):
        settings.COHORT_SIZE_LIMIT = 1000
        qe.scenario = "long_pending"
        measure = measure_of(snapshot_of(researcher, "101"), status="finished", measure=250_000)
        uuid = self.create(client, measure)
        frames = follow(socket, uuid, until={"long_pending"})
        assert frames[0]["status"] == "long_pending"
        last = frames[-1]
        while not last["extra_info"]["group_id"]:
            last = follow(socket, uuid, until={"long_pending"})[-1]
        etl = requests.patch(
            f"http://{live_server_url}/cohort/cohorts/{uuid}/",
            json={"request_job_status": "FINISHED"},
            headers={"Authorization": "Bearer etl-static-token"},
            timeout=10,
        )
        assert etl.status_code == 200, etl.text
        assert follow(socket, uuid, until={"finished"})[-1]["extra_info"]["group_id"] == last["extra_info"]["group_id"]

    def test_a_sample_reads_inside_its_parent(self, qe, socket, client, researcher):
        parent = cohort_of(
            measure_of(snapshot_of(researcher, "101"), status="finished", measure=100),
            status="finished",
            group_id="123456",
        )
        response = client.post(
            "/cohort/cohorts/",
            {"name": "Sample", "parent_cohort": str(parent.uuid), "sampling_ratio": 0.3},
            format="json",
        )
        uuid = response.json()["uuid"]
        assert follow(socket, uuid, until={"finished", "failed"})[-1]["status"] == "finished"
        job = qe.job(uuid)
        assert job.sampling == 0.3
        assert job.syntax["sourcePopulation"]["caresiteCohortList"] == [123456]
        assert job.syntax["request"]["resourceType"] == "Patient"

    def test_a_global_estimate_counts_over_the_whole_hospital(self, qe, socket, client, researcher):
        measure = measure_of(snapshot_of(researcher, "101"), status="finished", measure=10)
        uuid = self.create(client, measure, global_estimate=True)
        follow(socket, uuid, until={"finished", "failed"})
        estimate = CohortResult.objects.get(pk=uuid).dated_measure_global
        job = qe.job(str(estimate.uuid))
        assert job.mode == "count_all"
        assert job.syntax["sourcePopulation"]["caresiteCohortList"] == [100]
        qe.wait_for_deliveries(2)
        estimate.refresh_from_db()
        assert estimate.request_job_status == "finished"
        assert estimate.measure_min is not None and estimate.measure_max is not None
