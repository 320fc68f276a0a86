"""Launching counts and cohorts over the API (spec 02 §4.6, §4.7): validation, ownership, initial states.

The life cycle after the launch (submission, callbacks, pushes) is tested end to end in test_job_flows.py.
"""

from __future__ import annotations

import pytest
from celery.signals import before_task_publish
from django.utils import timezone

from accesses.services.perimeter_tree import rebuild_closure
from cohort.models import CohortResult, DatedMeasure
from cohort.services import counts
from cohort.tests.builders import cohort_of, measure_of, snapshot_of
from cohort.tests.channel_listener import GroupListener
from tests.factories import PerimeterFactory, RoleFactory, UserFactory, grant
from tests.fakes.query_executor import FakeQueryExecutor


@pytest.fixture
def researcher(db):
    return UserFactory()


@pytest.fixture
def client(make_client, researcher):
    return make_client(researcher)


@pytest.fixture
def snapshot(researcher):
    return snapshot_of(researcher, "1001")


@pytest.fixture
def finished_count(snapshot):
    return measure_of(snapshot, status="finished", measure=1523)


class TestLaunchCount:
    def test_a_count_starts_new(self, client, researcher, snapshot):
        body = {
            "request_query_snapshot_id": str(snapshot.uuid),
            "request_id": str(snapshot.request_id),
            "stageDetails": None,
        }
        response = client.post("/cohort/dated-measures/", body, format="json")
        assert response.status_code == 201, response.content
        created = response.json()
        assert created["request_job_status"] == "new"
        assert created["mode"] == "Snapshot"
        assert (created["count_outdated"], created["cohort_limit"]) == (False, 20000)
        assert created["request_query_snapshot"] == str(snapshot.uuid)
        assert DatedMeasure.objects.get().owner == researcher

    def test_the_count_task_is_queued_without_a_result_to_wait_for_nor_the_callers_token_in_sight(
        self, client, snapshot, django_capture_on_commit_callbacks
    ):
        # A task queued with a result expected makes the web process subscribe to its result channel. The task's
        # arguments carry the caller's token (for the FHIR translation): their text, which the broker's monitors
        # show and Celery logs when the task fails, names the count only.
        published = []

        def record(headers=None, **_):
            published.append((headers["task"], headers["ignore_result"], headers["argsrepr"]))

        before_task_publish.connect(record, weak=False)
        try:
            with django_capture_on_commit_callbacks(execute=True):
                body = {"request_query_snapshot_id": str(snapshot.uuid), "stageDetails": None}
                assert client.post("/cohort/dated-measures/", body, format="json").status_code == 201
        finally:
            before_task_publish.disconnect(record)
        [(task, ignore_result, argsrepr)] = published
        measure = DatedMeasure.objects.get()
        assert (task, ignore_result) == ("cohort.tasks.submit_count", True)
        assert str(measure.pk) in argsrepr
        assert client.tokens.access_token not in argsrepr and "Bearer" not in argsrepr

    def test_job_fields_sent_by_the_client_are_ignored(self, client, snapshot):
        body = {
            "request_query_snapshot": str(snapshot.uuid),
            "measure": 5,
            "request_job_status": "finished",
            "mode": "Global",
        }
        response = client.post("/cohort/dated-measures/", body, format="json")
        assert response.status_code == 201
        measure = DatedMeasure.objects.get()
        assert (measure.measure, measure.request_job_status, measure.mode) == (None, "new", "Snapshot")

    @pytest.mark.parametrize("details", ["all", "ratio", "1,2,-3"])
    def test_stage_details_accepted(self, client, snapshot, details):
        body = {"request_query_snapshot_id": str(snapshot.uuid), "stageDetails": details}
        assert client.post("/cohort/dated-measures/", body, format="json").status_code == 201

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"request_query_snapshot_id": "not-a-uuid"},
            {"request_query_snapshot_id": "6f1e2d3c-0000-4000-8000-000000000000"},
            {"stageDetails": "all; DROP TABLE"},
        ],
    )
    def test_bad_input_creates_nothing(self, client, snapshot, body):
        body = {"request_query_snapshot_id": str(snapshot.uuid), **body} if "stageDetails" in body else body
        response = client.post("/cohort/dated-measures/", body, format="json")
        assert response.status_code == 400
        assert DatedMeasure.objects.count() == 0

    def test_another_users_snapshot_cannot_be_counted(self, make_client, snapshot):
        response = make_client(UserFactory()).post(
            "/cohort/dated-measures/", {"request_query_snapshot_id": str(snapshot.uuid)}, format="json"
        )
        assert response.status_code == 400
        assert DatedMeasure.objects.count() == 0

    def test_counts_are_the_owners_only(self, make_client, client, snapshot):
        measure = measure_of(snapshot)
        assert client.get(f"/cohort/dated-measures/{measure.uuid}/").status_code == 200
        assert client.get("/cohort/dated-measures/").json()["count"] == 1
        stranger = make_client(UserFactory())
        assert stranger.get(f"/cohort/dated-measures/{measure.uuid}/").status_code == 404
        assert stranger.get("/cohort/dated-measures/").json()["count"] == 0

    def test_counts_cannot_be_deleted_or_put(self, client, snapshot):
        measure = measure_of(snapshot)
        assert client.delete(f"/cohort/dated-measures/{measure.uuid}/").status_code == 405
        assert client.put(f"/cohort/dated-measures/{measure.uuid}/", {}, format="json").status_code == 405
        assert DatedMeasure.objects.count() == 1

    def test_anonymous_is_refused(self, anonymous, snapshot):
        response = anonymous.post(
            "/cohort/dated-measures/", {"request_query_snapshot_id": str(snapshot.uuid)}, format="json"
        )
        assert response.status_code == 403
        assert anonymous.get("/cohort/dated-measures/").status_code == 403


class TestCountSubmission:
    def test_submitting_a_count_reads_the_owner_and_snapshot_with_the_job(
        self, researcher, settings, django_assert_max_num_queries
    ):
        # Count tasks run for every count of every user: their database round trips bound the count rate.
        grant(researcher, RoleFactory(right_read_patient_nominative=True), PerimeterFactory(cohort_id="1001"))
        rebuild_closure()
        measure = measure_of(snapshot_of(researcher, "1001"), status="new")
        with FakeQueryExecutor() as query_executor:
            settings.QUERY_EXECUTOR_URL = query_executor.url
            # Claim the job (an update), read it, look for previous counts, read the rights (accesses, then the
            # perimeters with their ancestors), record the job id (an update): no lock, no transaction.
            with django_assert_max_num_queries(6):
                counts.submit_count(str(measure.pk), auth={}, stage_details=None, task_id="t-1")
            assert query_executor.wait_for_job().cohort_uuid == str(measure.pk)
        measure.refresh_from_db()
        assert (measure.request_job_status, measure.count_task_id) == ("started", "t-1")

    @pytest.fixture
    def submitting(self, researcher, settings, django_capture_on_commit_callbacks):
        """Runs the count task in the test's process against a fake QueryExecutor; yields (run, fake)."""
        grant(researcher, RoleFactory(right_read_patient_nominative=True), PerimeterFactory(cohort_id="1001"))
        rebuild_closure()
        with FakeQueryExecutor() as query_executor:
            query_executor.hold_callbacks = True
            settings.QUERY_EXECUTOR_URL = query_executor.url

            def run(measure, task_id="t-1"):
                with django_capture_on_commit_callbacks(execute=True):
                    counts.submit_count(str(measure.pk), auth={}, stage_details=None, task_id=task_id)
                return DatedMeasure.all_objects.get(pk=measure.pk)

            yield run, query_executor

    def test_a_task_redelivered_before_the_job_id_was_recorded_submits_it_again(self, researcher, submitting):
        run, query_executor = submitting
        measure = measure_of(
            snapshot_of(researcher, "1001"), status="pending", request_job_id="", count_task_id="t-lost"
        )
        listener = GroupListener(researcher.username)
        stored = run(measure, task_id="t-2")
        [job] = query_executor.jobs
        assert (stored.request_job_status, stored.request_job_id) == ("started", job.job_id)
        assert stored.count_task_id == "t-2"
        assert [m["status"] for m in listener.messages()] == ["started"]

    def test_a_new_count_says_pending_then_started(self, researcher, submitting):
        run, query_executor = submitting
        measure = measure_of(snapshot_of(researcher, "1001"), status="new")
        listener = GroupListener(researcher.username)
        run(measure)
        assert [m["status"] for m in listener.messages()] == ["pending", "started"]
        assert len(query_executor.jobs) == 1

    def test_a_new_count_stops_the_requests_running_counts_that_no_cohort_uses(self, researcher, submitting):
        run, query_executor = submitting
        snapshot = snapshot_of(researcher, "1001")
        running = run(measure_of(snapshot, status="new"))
        not_submitted = measure_of(snapshot, status="new")
        used = measure_of(snapshot, status="started", request_job_id="job-used")
        cohort_of(used)
        used_as_estimate = measure_of(snapshot, status="started", request_job_id="job-estimate")
        cohort_of(measure_of(snapshot, status="finished"), dated_measure_global=used_as_estimate)
        other_request = measure_of(snapshot_of(researcher, "1001"), status="started", request_job_id="job-other")
        run(measure_of(snapshot_of(researcher, "1001", request=snapshot.request), status="new"))
        statuses = dict(DatedMeasure.objects.values_list("pk", "request_job_status"))
        assert statuses[running.pk] == statuses[not_submitted.pk] == "cancelled"
        assert statuses[used.pk] == statuses[used_as_estimate.pk] == statuses[other_request.pk] == "started"
        assert [r.path for r in query_executor.requests if r.method == "DELETE"] == [f"/jobs/{running.request_job_id}"]

    @pytest.mark.parametrize(
        "state",
        [
            {"status": "cancelled"},
            {"status": "finished", "measure": 12},
            {"status": "started", "request_job_id": "job-9"},
            {"status": "new", "deleted": timezone.now()},
        ],
        ids=["cancelled", "finished", "already-submitted", "deleted"],
    )
    def test_a_count_that_is_not_to_be_submitted_is_left_as_it_is(self, researcher, submitting, state):
        run, query_executor = submitting
        state = dict(state)
        measure = measure_of(snapshot_of(researcher, "1001"), status=state.pop("status"), **state)
        before = DatedMeasure.all_objects.filter(pk=measure.pk).values().get()
        listener = GroupListener(researcher.username)
        run(measure, task_id="t-late")
        assert query_executor.jobs == []
        assert DatedMeasure.all_objects.filter(pk=measure.pk).values().get() == before
        assert listener.messages() == []


class TestLaunchCohort:
    def body(self, count, **extra):
        return {
            "dated_measure_id": str(count.uuid),
            "request_query_snapshot_id": str(count.request_query_snapshot_id),
            "request_id": str(count.request_query_snapshot.request_id),
            "name": "Cohorte diabète",
            "description": "",
            **extra,
        }

    def test_a_small_cohort_starts_pending(self, client, finished_count):
        response = client.post("/cohort/cohorts/", self.body(finished_count, global_estimate=False), format="json")
        assert response.status_code == 201, response.content
        assert response.json()["request_job_status"] == "pending"
        cohort = CohortResult.objects.get()
        assert (cohort.name, cohort.dated_measure_id, cohort.dated_measure_global) == (
            "Cohorte diabète",
            finished_count.pk,
            None,
        )

    def test_a_large_cohort_starts_long_pending(self, client, snapshot, settings):
        settings.COHORT_SIZE_LIMIT = 1000
        count = measure_of(snapshot, status="finished", measure=1000)
        assert (
            client.post("/cohort/cohorts/", self.body(count), format="json").json()["request_job_status"]
            == "long_pending"
        )

    def test_global_estimate_adds_a_global_count(self, client, finished_count):
        client.post("/cohort/cohorts/", self.body(finished_count, global_estimate=True), format="json")
        cohort = CohortResult.objects.get()
        estimate = cohort.dated_measure_global
        assert (estimate.mode, estimate.request_query_snapshot_id, estimate.request_job_status) == (
            "Global",
            finished_count.request_query_snapshot_id,
            "new",
        )

    def test_a_count_of_another_snapshot_is_refused(self, client, researcher, finished_count):
        other = measure_of(snapshot_of(researcher, "1001"), status="finished", measure=3)
        body = self.body(finished_count, dated_measure_id=str(other.uuid))
        assert client.post("/cohort/cohorts/", body, format="json").status_code == 400
        assert CohortResult.objects.count() == 0

    def test_another_users_count_is_refused(self, make_client, finished_count):
        response = make_client(UserFactory()).post("/cohort/cohorts/", self.body(finished_count), format="json")
        assert response.status_code == 400
        assert CohortResult.objects.count() == 0

    @pytest.mark.parametrize("missing", ["dated_measure_id", "request_query_snapshot_id"])
    def test_both_the_snapshot_and_the_count_are_needed(self, client, finished_count, missing):
        body = self.body(finished_count)
        del body[missing]
        assert client.post("/cohort/cohorts/", body, format="json").status_code == 400
        assert CohortResult.objects.count() == 0

    def test_computed_fields_sent_by_the_client_are_ignored(self, client, finished_count):
        body = self.body(
            finished_count, result_size=5, exportable=True, measure_min=1, group_id="666", request_job_status="finished"
        )
        response = client.post("/cohort/cohorts/", body, format="json")
        assert response.status_code == 201
        cohort = CohortResult.objects.get()
        assert (cohort.group_id, cohort.request_job_status) == ("", "pending")


class TestLaunchSample:
    @pytest.fixture
    def parent(self, finished_count):
        return cohort_of(finished_count, status="finished", group_id="123456")

    def body(self, parent, ratio):
        return {
            "name": "Échantillon 10%",
            "description": "",
            "parent_cohort": str(parent.uuid),
            "sampling_ratio": ratio,
        }

    def test_a_sample_gets_its_own_count(self, client, parent):
        response = client.post("/cohort/cohorts/", self.body(parent, 0.1), format="json")
        assert response.status_code == 201, response.content
        sample = CohortResult.objects.get(parent_cohort=parent)
        assert sample.sampling_ratio == 0.1
        assert sample.request_query_snapshot_id == parent.request_query_snapshot_id
        assert sample.dated_measure_id not in (None, parent.dated_measure_id)
        assert sample.dated_measure.request_job_status == "new"
        listed = client.get(f"/cohort/cohorts/?is_sample=true&parent_cohort={parent.uuid}").json()
        assert [row["uuid"] for row in listed["results"]] == [str(sample.uuid)]
        assert listed["results"][0]["parent_cohort"] == {"uuid": str(parent.uuid), "name": parent.name}

    @pytest.mark.parametrize("ratio", [0, 1, -0.5, 2, None, "half"])
    def test_the_ratio_must_be_strictly_between_0_and_1(self, client, parent, ratio):
        response = client.post("/cohort/cohorts/", self.body(parent, ratio), format="json")
        assert response.status_code == 400
        assert "sampling_ratio" in response.json()
        assert CohortResult.objects.count() == 1

    def test_a_sample_cannot_be_sampled(self, client, parent):
        client.post("/cohort/cohorts/", self.body(parent, 0.5), format="json")
        sample = CohortResult.objects.get(parent_cohort=parent)
        CohortResult.objects.filter(pk=sample.pk).update(group_id="777", request_job_status="finished")
        response = client.post("/cohort/cohorts/", self.body(sample, 0.5), format="json")
        assert response.status_code == 400
        assert CohortResult.objects.count() == 2

    def test_another_users_cohort_cannot_be_sampled(self, make_client, parent):
        response = make_client(UserFactory()).post("/cohort/cohorts/", self.body(parent, 0.5), format="json")
        assert response.status_code == 400
        assert CohortResult.objects.count() == 1


class TestCohortList:
    def test_a_page_costs_the_same_queries_whatever_its_size(self, client, researcher, django_assert_max_num_queries):
        def fill(n: int) -> None:
            for _ in range(n):
                count = measure_of(snapshot_of(researcher, "1001"), status="finished", measure=10)
                parent = cohort_of(count, status="finished", group_id="1")
                cohort_of(count, parent_cohort=parent, sampling_ratio=0.5)

        fill(2)
        with django_assert_max_num_queries(12) as few:
            assert client.get("/cohort/cohorts/?limit=-1").json()["count"] == 4
        fill(10)
        with django_assert_max_num_queries(len(few.captured_queries)):
            body = client.get("/cohort/cohorts/?limit=-1&ordering=-result_size").json()
        assert body["count"] == 24
        parents = [row for row in body["results"] if row["parent_cohort"] is None]
        assert all(len(row["sample_cohorts"]) == 1 for row in parents)
        assert {row["request"]["name"] for row in body["results"]} == {"Diabetes study"}

    def test_filters_and_computed_columns(self, client, researcher, settings):
        settings.COHORT_SIZE_LIMIT = 100
        small = cohort_of(
            measure_of(snapshot_of(researcher, "1"), status="finished", measure=50), status="finished", group_id="11"
        )
        large = cohort_of(
            measure_of(snapshot_of(researcher, "1"), status="finished", measure=500), status="finished", group_id="22"
        )
        cohort_of(measure_of(snapshot_of(UserFactory(), "1"), status="finished", measure=5), group_id="11")

        def uuids(query: str) -> set[str]:
            response = client.get(f"/cohort/cohorts/{query}")
            assert response.status_code == 200, response.content
            return {row["uuid"] for row in response.json()["results"]}

        assert uuids("?exportable=true&status=finished&limit=-1") == {str(small.uuid)}
        assert uuids("?exportable=false") == {str(large.uuid)}
        assert uuids("?group_id=11,22") == {str(small.uuid), str(large.uuid)}
        assert uuids("?min_result_size=100") == {str(large.uuid)}
        assert uuids("?is_sample=false&status=pending,started") == set()
        assert client.get("/cohort/cohorts/?exportable=maybe").status_code == 400
        assert client.get("/cohort/cohorts/?request_id=nope").status_code == 400
        [row] = client.get("/cohort/cohorts/?group_id=22").json()["results"]
        assert (row["result_size"], row["exportable"], row["measure_min"]) == (500, False, None)
