"""Refresh schedules (spec 02 §4.10, §9): recurrence, API, the per-minute dispatcher, bookkeeping of the runs."""

from __future__ import annotations

import importlib
import threading
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from cohort.models import DatedMeasure, RequestQuerySnapshot, RequestRefreshSchedule
from cohort.services import counts, jobs
from cohort.services.refresh_schedules import first_run, following_run, run_due_schedules
from cohort.tests.test_feasibility_report import BICHAT, GH_NORD, build_reporting_tree
from tests.factories import RoleFactory, UserFactory, grant
from tests.fakes.query_executor import FakeQueryExecutor

LIST = "/cohort/refresh-schedules/"
QE = {"HTTP_AUTHORIZATION": "Bearer qe-static-token"}
MONDAY = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, 10:00 UTC


def api_datetime(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def url(schedule) -> str:
    return f"{LIST}{schedule.uuid}/"


def in_three_hours() -> time:
    """A time of day whose next occurrence is unambiguous, however long the request takes."""
    return (timezone.now() + timedelta(hours=3)).time().replace(microsecond=0)


def refreshed(schedule) -> RequestRefreshSchedule:
    return RequestRefreshSchedule.all_objects.get(pk=schedule.pk)


@pytest.fixture
def tree(db):
    return build_reporting_tree()


@pytest.fixture
def snapshot(make_snapshot, researcher, tree):
    grant(researcher, RoleFactory(right_read_patient_nominative=True), tree["bichat"])
    return make_snapshot(researcher, perimeters=(BICHAT,))


@pytest.fixture
def make_schedule():
    def make(snapshot, **fields) -> RequestRefreshSchedule:
        fields.setdefault("refresh_time", time(11, 45))
        fields.setdefault("refresh_frequency", "weekly")
        fields.setdefault("next_run_at", MONDAY + timedelta(hours=1, minutes=45))
        return RequestRefreshSchedule.objects.create(owner=snapshot.owner, request_snapshot=snapshot, **fields)

    return make


@pytest.fixture
def schedule(make_schedule, snapshot):
    return make_schedule(snapshot)


@pytest.fixture
def qe_client(db):
    UserFactory(username=settings.QUERY_EXECUTOR_USERNAME)
    client = APIClient()
    client.credentials(**QE)
    return client


@pytest.fixture
def query_executor(settings):
    with FakeQueryExecutor() as qe:
        settings.QUERY_EXECUTOR_URL = qe.url
        yield qe


class TestRecurrence:
    @pytest.mark.parametrize(
        ("refresh_time", "expected"),
        [
            (time(11, 45), datetime(2026, 3, 2, 11, 45, tzinfo=UTC)),  # later today
            (time(9, 30), datetime(2026, 3, 3, 9, 30, tzinfo=UTC)),  # already past today: tomorrow
            (time(10, 0), datetime(2026, 3, 3, 10, 0, tzinfo=UTC)),  # right now: the next one
        ],
    )
    def test_the_first_run_is_the_next_occurrence_of_the_time(self, refresh_time, expected):
        assert first_run(refresh_time, now=MONDAY) == expected

    def test_times_are_utc_whatever_the_clock_given(self):
        paris = MONDAY.astimezone(ZoneInfo("Europe/Paris"))  # 11:00 in Paris
        assert first_run(time(10, 30), now=paris) == datetime(2026, 3, 2, 10, 30, tzinfo=UTC)

    @pytest.mark.parametrize(
        ("frequency", "expected"),
        [
            ("daily", datetime(2026, 3, 3, 11, 45, tzinfo=UTC)),
            ("every_other_day", datetime(2026, 3, 4, 11, 45, tzinfo=UTC)),
            ("weekly", datetime(2026, 3, 9, 11, 45, tzinfo=UTC)),  # the next Monday, not the 8th of the month
        ],
    )
    def test_each_run_is_one_period_after_the_previous(self, frequency, expected):
        scheduled = datetime(2026, 3, 2, 11, 45, tzinfo=UTC)
        assert following_run(scheduled, frequency, now=scheduled + timedelta(seconds=40)) == expected

    def test_missed_runs_are_skipped_keeping_the_cadence(self):
        scheduled = datetime(2026, 3, 2, 11, 45, tzinfo=UTC)
        three_days_late = scheduled + timedelta(days=3, hours=2)
        assert following_run(scheduled, "daily", now=three_days_late) == datetime(2026, 3, 6, 11, 45, tzinfo=UTC)
        assert following_run(scheduled, "every_other_day", now=three_days_late) == datetime(
            2026, 3, 6, 11, 45, tzinfo=UTC
        )
        assert following_run(scheduled, "weekly", now=scheduled + timedelta(days=15)) == datetime(
            2026, 3, 23, 11, 45, tzinfo=UTC
        )

    def test_a_weekly_schedule_runs_every_seven_days_across_months(self, schedule):
        runs = []
        for _ in range(6):
            now = RequestRefreshSchedule.objects.get(pk=schedule.pk).next_run_at
            assert len(run_due_schedules(now=now)) == 1
            runs.append(now)
        assert [run.strftime("%a %d/%m %H:%M") for run in runs] == [
            "Mon 02/03 11:45",
            "Mon 09/03 11:45",
            "Mon 16/03 11:45",
            "Mon 23/03 11:45",
            "Mon 30/03 11:45",
            "Mon 06/04 11:45",
        ]


class TestCreate:
    def test_anonymous_callers_are_refused(self, anonymous, snapshot, schedule):
        body = {"request_snapshot_id": str(snapshot.uuid), "refresh_time": "11:45:00"}
        assert anonymous.get(LIST).status_code == 403
        assert anonymous.post(LIST, body, format="json").status_code == 403
        assert anonymous.get(url(schedule)).status_code == 403
        assert anonymous.patch(url(schedule), {"notify_owner": True}, format="json").status_code == 403
        assert anonymous.delete(url(schedule)).status_code == 403
        assert refreshed(schedule).deleted is None

    def test_a_schedule_is_stored_with_its_next_run_and_the_translated_query(
        self, researcher_client, researcher, snapshot
    ):
        at = in_three_hours()
        body = {
            "request_snapshot_id": str(snapshot.uuid),
            "refresh_time": at.strftime("%H:%M:%S"),
            "refresh_frequency": "every_other_day",
            "notify_owner": True,
        }
        response = researcher_client.post(LIST, body, format="json")
        assert response.status_code == 201, response.content
        created = RequestRefreshSchedule.objects.get()
        assert created.next_run_at == first_run(at, now=timezone.now())
        assert response.json() == {
            "uuid": str(created.uuid),
            "created_at": api_datetime(created.created_at),
            "modified_at": api_datetime(created.modified_at),
            "deleted": None,
            "deleted_by_cascade": False,
            "owner": researcher.username,
            "request_snapshot": str(snapshot.uuid),
            "refresh_time": at.strftime("%H:%M:%S"),
            "refresh_frequency": "every_other_day",
            "notify_owner": True,
            "last_refresh": None,
            "last_refresh_succeeded": None,
            "last_refresh_count": None,
            "last_refresh_error_msg": None,
            "next_run_at": response.json()["next_run_at"],
        }
        assert datetime.fromisoformat(response.json()["next_run_at"]) == created.next_run_at
        translated = RequestQuerySnapshot.objects.get(pk=snapshot.pk).translated_query
        assert translated and BICHAT in translated

    def test_the_frequency_defaults_to_weekly(self, researcher_client, snapshot):
        body = {"request_snapshot": str(snapshot.uuid), "refresh_time": "11:45:00", "owner": snapshot.owner_id}
        response = researcher_client.post(LIST, body, format="json")
        assert response.status_code == 201, response.content
        assert (response.json()["refresh_frequency"], response.json()["notify_owner"]) == ("weekly", False)

    def test_another_users_snapshot_or_owner_is_refused(self, researcher_client, other_client, other, snapshot):
        body = {"request_snapshot_id": str(snapshot.uuid), "refresh_time": "11:45:00"}
        response = other_client.post(LIST, body, format="json")
        assert response.status_code == 400
        assert "request_snapshot" in response.json()
        response = researcher_client.post(LIST, {**body, "owner": other.username}, format="json")
        assert response.status_code == 400
        assert "owner" in response.json()
        assert not RequestRefreshSchedule.all_objects.exists()

    @pytest.mark.parametrize(
        "changes",
        [
            {"refresh_time": "25:00:00"},
            {"refresh_time": None},
            {"refresh_frequency": "monthly"},
            {"request_snapshot_id": "not-a-uuid"},
            {"notify_owner": "maybe"},
        ],
    )
    def test_bad_bodies_are_refused(self, researcher_client, snapshot, changes):
        body = {"request_snapshot_id": str(snapshot.uuid), "refresh_time": "11:45:00", **changes}
        response = researcher_client.post(LIST, body, format="json")
        assert response.status_code == 400
        assert not RequestRefreshSchedule.all_objects.exists()

    def test_one_schedule_per_snapshot_until_it_is_deleted(self, researcher_client, snapshot):
        body = {"request_snapshot_id": str(snapshot.uuid), "refresh_time": "11:45:00"}
        first = researcher_client.post(LIST, body, format="json")
        assert first.status_code == 201
        second = researcher_client.post(LIST, body, format="json")
        assert second.status_code == 400
        assert second.json() == {"request_snapshot": ["This snapshot already has a refresh schedule."]}
        assert researcher_client.delete(f"{LIST}{first.json()['uuid']}/").status_code == 204
        again = researcher_client.post(LIST, body, format="json")
        assert again.status_code == 201, again.content
        assert RequestRefreshSchedule.objects.get().pk != first.json()["uuid"]

    def test_without_read_rights_no_schedule_is_made(self, other_client, make_snapshot, other, tree):
        snapshot = make_snapshot(other, perimeters=(BICHAT,))
        body = {"request_snapshot_id": str(snapshot.uuid), "refresh_time": "11:45:00"}
        response = other_client.post(LIST, body, format="json")
        assert (response.status_code, response.json()) == (
            400,
            f"Forbidden: no read access to the perimeter(s) {BICHAT}",
        )
        assert not RequestRefreshSchedule.all_objects.exists()

    def test_a_translation_failure_makes_nothing(self, researcher_client, snapshot, settings):
        settings.USE_SOLR, settings.FHIR_URL = True, ""
        body = {"request_snapshot_id": str(snapshot.uuid), "refresh_time": "11:45:00"}
        response = researcher_client.post(LIST, body, format="json")
        assert response.status_code == 400
        assert "FHIR_URL is not set" in response.json()
        assert not RequestRefreshSchedule.all_objects.exists()
        assert RequestQuerySnapshot.objects.get(pk=snapshot.pk).translated_query is None


class TestReadUpdateDelete:
    def test_owners_see_their_own_schedules_only(self, researcher_client, other_client, schedule):
        listed = researcher_client.get(LIST).json()
        assert (listed["count"], listed["results"][0]["uuid"]) == (1, str(schedule.uuid))
        assert listed["results"][0]["refresh_time"] == "11:45:00"
        assert other_client.get(LIST).json()["count"] == 0
        assert other_client.get(url(schedule)).status_code == 404
        assert other_client.patch(url(schedule), {"notify_owner": True}, format="json").status_code == 404
        assert other_client.delete(url(schedule)).status_code == 404
        assert refreshed(schedule).deleted is None
        assert refreshed(schedule).notify_owner is False

    def test_the_list_costs_the_same_for_many_schedules(
        self, researcher_client, researcher, make_schedule, make_snapshot, schedule, queries_of
    ):
        one = queries_of(researcher_client, LIST)
        for _ in range(4):
            make_schedule(make_snapshot(researcher, perimeters=(BICHAT,)))
        assert queries_of(researcher_client, LIST) == one

    def test_filters_and_ordering(self, researcher_client, researcher, make_schedule, make_snapshot, schedule):
        daily = make_schedule(
            make_snapshot(researcher, perimeters=(BICHAT,)), refresh_frequency="daily", refresh_time=time(6, 0)
        )

        def uuids(**params) -> list[str]:
            response = researcher_client.get(LIST, params)
            assert response.status_code == 200, response.content
            return [row["uuid"] for row in response.json()["results"]]

        assert uuids(refresh_frequency="daily") == [str(daily.uuid)]
        assert uuids(refresh_time="11:45:00") == [str(schedule.uuid)]
        assert uuids(request_snapshot_id=str(daily.request_snapshot_id)) == [str(daily.uuid)]
        assert uuids(ordering="created_at") == [str(schedule.uuid), str(daily.uuid)]
        assert uuids(ordering="-created_at") == [str(daily.uuid), str(schedule.uuid)]
        assert researcher_client.get(LIST, {"refresh_frequency": "monthly"}).status_code == 400

    def test_a_new_time_or_frequency_moves_the_next_run(self, researcher_client, schedule):
        at = in_three_hours()
        response = researcher_client.patch(url(schedule), {"refresh_time": at.strftime("%H:%M:%S")}, format="json")
        assert response.status_code == 200, response.content
        stored = refreshed(schedule)
        assert stored.next_run_at == first_run(at, now=timezone.now())
        assert datetime.fromisoformat(response.json()["next_run_at"]) == stored.next_run_at
        RequestRefreshSchedule.objects.filter(pk=schedule.pk).update(next_run_at=MONDAY)
        assert researcher_client.patch(url(schedule), {"refresh_frequency": "daily"}, format="json").status_code == 200
        assert refreshed(schedule).next_run_at == first_run(at, now=timezone.now())

    def test_other_changes_keep_the_cadence(self, researcher_client, schedule):
        body = {"notify_owner": True, "refresh_time": "11:45:00", "refresh_frequency": "weekly"}
        response = researcher_client.patch(url(schedule), body, format="json")
        assert response.status_code == 200
        stored = refreshed(schedule)
        assert (stored.notify_owner, stored.next_run_at) == (True, schedule.next_run_at)

    def test_the_snapshot_and_owner_cannot_change(
        self, researcher_client, researcher, other, make_snapshot, other_client, schedule
    ):
        mine = make_snapshot(researcher, perimeters=(BICHAT,))
        theirs = make_snapshot(other, perimeters=(BICHAT,))
        for body in (
            {"request_snapshot_id": str(mine.uuid)},
            {"request_snapshot_id": str(theirs.uuid)},
            {"owner": other.username},
            {"refresh_frequency": "hourly"},
        ):
            response = researcher_client.patch(url(schedule), body, format="json")
            assert response.status_code == 400, body
        stored = refreshed(schedule)
        assert (stored.request_snapshot_id, stored.owner_id, stored.refresh_frequency) == (
            schedule.request_snapshot_id,
            researcher.username,
            "weekly",
        )

    def test_a_deleted_schedule_never_runs_again(self, researcher_client, schedule):
        assert researcher_client.delete(url(schedule)).status_code == 204
        assert refreshed(schedule).deleted is not None
        assert researcher_client.get(url(schedule)).status_code == 404
        assert run_due_schedules(now=schedule.next_run_at + timedelta(days=30)) == []
        assert not DatedMeasure.objects.exists()

    def test_bulk_deletes_spare_other_users_schedules(
        self, researcher_client, make_schedule, make_snapshot, other, schedule
    ):
        theirs = make_schedule(make_snapshot(other, perimeters=(BICHAT,)))
        assert researcher_client.delete(f"{LIST}{schedule.uuid},{theirs.uuid}/").status_code == 204
        assert refreshed(schedule).deleted is not None
        assert refreshed(theirs).deleted is None


class TestDispatcher:
    def test_a_due_schedule_launches_one_new_count_and_moves_on(self, schedule, researcher):
        due = schedule.next_run_at
        assert run_due_schedules(now=due - timedelta(seconds=1)) == []
        [measure] = run_due_schedules(now=due + timedelta(seconds=20))
        assert (measure.owner, measure.request_query_snapshot_id, measure.request_job_status) == (
            researcher,
            schedule.request_snapshot_id,
            "new",
        )
        stored = refreshed(schedule)
        assert (stored.last_dated_measure_id, stored.next_run_at) == (measure.pk, due + timedelta(days=7))
        assert run_due_schedules(now=due + timedelta(seconds=50)) == []
        [second] = run_due_schedules(now=due + timedelta(days=7))
        assert second.pk != measure.pk
        assert refreshed(schedule).last_dated_measure_id == second.pk

    def test_a_soft_deleted_snapshot_takes_its_schedule_along(self, schedule):
        schedule.request_snapshot.request.parent_folder.delete()
        assert run_due_schedules(now=schedule.next_run_at) == []

    def test_the_run_submits_the_stored_translation(
        self, researcher_client, researcher, snapshot, tree, query_executor, django_capture_on_commit_callbacks
    ):
        body = {"request_snapshot_id": str(snapshot.uuid), "refresh_time": "11:45:00", "refresh_frequency": "daily"}
        assert researcher_client.post(LIST, body, format="json").status_code == 201
        # Later changes of the saved query do not change what the schedule runs.
        grant(researcher, RoleFactory(right_read_patient_nominative=True), tree["gh_nord"])
        RequestQuerySnapshot.objects.filter(pk=snapshot.pk).update(
            serialized_query=snapshot.serialized_query.replace(BICHAT, GH_NORD)
        )
        schedule = RequestRefreshSchedule.objects.get()
        [measure] = run_due_schedules(now=schedule.next_run_at)
        with django_capture_on_commit_callbacks(execute=True):
            counts.submit_count(str(measure.pk), auth={}, stage_details=None, task_id="t-1", from_translated_query=True)
        job = query_executor.wait_for_job()
        assert (job.mode, job.cohort_uuid) == ("count", str(measure.pk))
        assert job.syntax["sourcePopulation"]["caresiteCohortList"] == [int(BICHAT)]
        measure.refresh_from_db()
        assert (measure.request_job_status, measure.request_job_id) == ("started", job.job_id)

    def test_a_run_without_translation_fails_with_a_reason(self, schedule, django_capture_on_commit_callbacks):
        [measure] = run_due_schedules(now=schedule.next_run_at)
        with django_capture_on_commit_callbacks(execute=True):
            counts.submit_count(str(measure.pk), auth={}, stage_details=None, task_id="t-1", from_translated_query=True)
        measure.refresh_from_db()
        assert measure.request_job_status == "failed"
        assert measure.request_job_fail_msg == "The query of this snapshot was never translated for a refresh schedule"
        assert refreshed(schedule).last_refresh_succeeded is False

    def test_a_refresh_does_not_cancel_the_owners_running_counts(self, schedule, snapshot):
        manual = DatedMeasure.objects.create(
            owner=snapshot.owner, request_query_snapshot=snapshot, request_job_status="started", request_job_id="j-9"
        )
        [measure] = run_due_schedules(now=schedule.next_run_at)
        counts.submit_count(str(measure.pk), auth={}, stage_details=None, task_id="t-1", from_translated_query=True)
        manual.refresh_from_db()
        assert manual.request_job_status == "started"


@pytest.mark.django_db(transaction=True)
def test_concurrent_dispatchers_launch_a_due_run_once(researcher, snapshot, make_schedule):
    schedule = make_schedule(snapshot)
    barrier = threading.Barrier(4)
    launched: list[int] = []

    def dispatch() -> None:
        try:
            barrier.wait()
            launched.append(len(run_due_schedules(now=schedule.next_run_at)))
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatch) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(launched) == [0, 0, 0, 1]
    assert DatedMeasure.objects.count() == 1


class TestBookkeeping:
    @pytest.fixture
    def run(self, schedule):
        [measure] = run_due_schedules(now=schedule.next_run_at)
        DatedMeasure.objects.filter(pk=measure.pk).update(request_job_status="started", request_job_id="job-7")
        return measure

    @pytest.fixture
    def callback(self, qe_client, django_capture_on_commit_callbacks):
        def send(measure, body):
            with django_capture_on_commit_callbacks(execute=True):
                response = qe_client.patch(f"/cohort/dated-measures/{measure.pk}/", body, format="json")
            assert response.status_code in (200, 400), response.content
            return response

        return send

    def test_a_finished_run_is_recorded_and_the_owner_told(self, callback, schedule, run, researcher):
        RequestRefreshSchedule.objects.filter(pk=schedule.pk).update(notify_owner=True)
        before = timezone.now()
        callback(run, {"request_job_status": "FINISHED", "count": "42", "extra": {}})
        stored = refreshed(schedule)
        assert before <= stored.last_refresh <= timezone.now()
        assert (stored.last_refresh_succeeded, stored.last_refresh_count, stored.last_refresh_error_msg) == (
            True,
            42,
            None,
        )
        [message] = mail.outbox
        assert (message.subject, message.to) == ("Votre requête a été bien rafraichie", [researcher.email])
        assert "Request 1 (version 1)" in message.body

    def test_no_e_mail_unless_asked(self, callback, schedule, run):
        callback(run, {"request_job_status": "FINISHED", "count": "42", "extra": {}})
        assert refreshed(schedule).last_refresh_count == 42
        assert mail.outbox == []

    @pytest.mark.parametrize(
        ("body", "reason"),
        [
            ({"request_job_status": "ERROR", "message": "Solr timeout"}, "Solr timeout"),
            ({"request_job_status": "KILLED", "message": ""}, "The count ended with the status `cancelled`"),
            ({"request_job_status": "bogus"}, "Bad Request: Invalid job status: bogus"),
        ],
    )
    def test_a_failed_run_is_recorded_as_failed_without_success_e_mail(self, callback, schedule, run, body, reason):
        RequestRefreshSchedule.objects.filter(pk=schedule.pk).update(
            notify_owner=True, last_refresh_succeeded=True, last_refresh_count=40
        )
        callback(run, body)
        stored = refreshed(schedule)
        assert (stored.last_refresh_succeeded, stored.last_refresh_count, stored.last_refresh_error_msg) == (
            False,
            None,
            reason,
        )
        assert stored.last_refresh is not None
        assert mail.outbox == []

    def test_a_submission_failure_is_a_failed_refresh_too(self, schedule, run):
        jobs.fail(DatedMeasure, run.pk, "The QueryExecutor could not be reached")
        stored = refreshed(schedule)
        assert (stored.last_refresh_succeeded, stored.last_refresh_error_msg) == (
            False,
            "The QueryExecutor could not be reached",
        )

    def test_other_counts_of_the_snapshot_are_not_refreshes(self, callback, schedule, snapshot, run):
        manual = DatedMeasure.objects.create(
            owner=snapshot.owner, request_query_snapshot=snapshot, request_job_status="started", request_job_id="j-2"
        )
        callback(manual, {"request_job_status": "FINISHED", "count": "99", "extra": {}})
        [newer] = run_due_schedules(now=refreshed(schedule).next_run_at)
        DatedMeasure.objects.filter(pk=newer.pk).update(request_job_status="started", request_job_id="job-8")
        callback(run, {"request_job_status": "FINISHED", "count": "7", "extra": {}})  # replaced by the newer run
        stored = refreshed(schedule)
        assert (stored.last_refresh, stored.last_refresh_count) == (None, None)
        callback(newer, {"request_job_status": "FINISHED", "count": "8", "extra": {}})
        assert refreshed(schedule).last_refresh_count == 8

    def test_a_run_launched_before_the_upgrade_that_marks_runs_is_still_recorded(self, callback, schedule, run):
        from django.apps import apps

        upgrade = importlib.import_module("cohort.migrations.0003_dated_measure_scheduled_refresh")
        DatedMeasure.objects.filter(pk=run.pk).update(scheduled_refresh=False)  # as such rows were before it
        upgrade.mark_running_refreshes(apps, None)
        assert list(DatedMeasure.objects.filter(scheduled_refresh=True).values_list("pk", flat=True)) == [run.pk]
        callback(run, {"request_job_status": "FINISHED", "count": "42", "extra": {}})
        assert refreshed(schedule).last_refresh_count == 42

    def test_a_deleted_schedule_keeps_no_books(self, callback, researcher_client, schedule, run):
        assert researcher_client.delete(url(schedule)).status_code == 204
        callback(run, {"request_job_status": "FINISHED", "count": "42", "extra": {}})
        assert refreshed(schedule).last_refresh is None


def test_the_periodic_task_runs_due_schedules(schedule):
    from cohort.tasks import run_due_refresh_schedules

    RequestRefreshSchedule.objects.filter(pk=schedule.pk).update(next_run_at=timezone.now() - timedelta(minutes=1))
    run_due_refresh_schedules()
    assert refreshed(schedule).last_dated_measure is not None
    assert refreshed(schedule).next_run_at > timezone.now()
