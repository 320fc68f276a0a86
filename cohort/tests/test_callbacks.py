"""Job callbacks of the QueryExecutor and the Solr ETL (spec 02 §6.4, §7.4; spec 03 §3)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from cohort.models import CohortResult, DatedMeasure, JobStatus
from cohort.services import callbacks
from cohort.tests.builders import cohort_of, measure_of, snapshot_of
from cohort.tests.channel_listener import GroupListener
from tests.factories import UserFactory

QE = {"HTTP_AUTHORIZATION": "Bearer qe-static-token"}
ETL = {"HTTP_AUTHORIZATION": "Bearer etl-static-token"}


@pytest.fixture
def machines(db):
    return UserFactory(username=settings.QUERY_EXECUTOR_USERNAME), UserFactory(username=settings.SOLR_ETL_USERNAME)


@pytest.fixture
def owner(db):
    return UserFactory(email="owner@example.org")


@pytest.fixture
def measure(owner):
    return measure_of(snapshot_of(owner, "1001"))


@pytest.fixture
def listener(owner):
    return GroupListener(owner.username)


def patch(client, url, body, headers):
    return client.patch(url, body, format="json", **headers)


@pytest.fixture
def api(anonymous, machines, django_capture_on_commit_callbacks):
    """The anonymous client with the machine tokens as headers; on-commit work (pushes, e-mails) runs."""

    class Api:
        def patch(self, url, body, headers=QE):
            with django_capture_on_commit_callbacks(execute=True):
                return anonymous.patch(url, body, format="json", **headers)

    return Api()


def dm_url(measure) -> str:
    return f"/cohort/dated-measures/{measure.uuid}/"


def cohort_url(cohort) -> str:
    return f"/cohort/cohorts/{cohort.uuid}/"


class TestCountCallbacks:
    def test_finished_count_is_stored_and_pushed_to_the_owner(self, api, measure, listener):
        response = api.patch(
            dm_url(measure), {"request_job_status": "FINISHED", "count": "1234", "extra": {"criteria_count_1": "5000"}}
        )
        assert response.status_code == 200, response.content
        assert response.json()["measure"] == 1234
        measure.refresh_from_db()
        assert (measure.request_job_status, measure.measure, measure.extra) == (
            "finished",
            1234,
            {"criteria_count_1": "5000"},
        )
        assert measure.request_job_duration.startswith("0:")
        [event] = listener.messages()
        assert event == {
            "type": "job_status",
            "status": "finished",
            "uuid": str(measure.uuid),
            "job_name": "count",
            "extra_info": {
                "request_job_status": "finished",
                "request_job_fail_msg": "",
                "measure": 1234,
                "snapshot_id": str(measure.request_query_snapshot_id),
                "extra": {"criteria_count_1": "5000"},
            },
        }

    @pytest.mark.parametrize(
        ("word", "status"),
        [
            ("finished", "finished"),
            ("RUNNING", "started"),
            ("pending", "pending"),
            ("KILLED", "cancelled"),
            ("UNKNOWN", "unknown"),
        ],
    )
    def test_status_words_are_mapped_case_insensitively(self, api, measure, word, status):
        assert api.patch(dm_url(measure), {"request_job_status": word}).status_code == 200
        measure.refresh_from_db()
        assert measure.request_job_status == status

    def test_error_stores_the_message(self, api, measure, listener):
        api.patch(dm_url(measure), {"request_job_status": "ERROR", "message": "Spark died"})
        measure.refresh_from_db()
        assert (measure.request_job_status, measure.request_job_fail_msg) == ("failed", "Spark died")
        assert listener.messages()[0]["extra_info"]["request_job_fail_msg"] == "Spark died"

    def test_error_without_message_stores_an_empty_reason(self, api, measure):
        assert api.patch(dm_url(measure), {"request_job_status": "ERROR"}).status_code == 200
        measure.refresh_from_db()
        assert (measure.request_job_status, measure.request_job_fail_msg) == ("failed", "")

    @pytest.mark.parametrize("word", ["failed", "cancelled", "DONE", None, 12, ""])
    def test_invalid_status_fails_the_count_and_is_refused(self, api, measure, listener, word):
        body = {"request_job_status": word} if word is not None else {"count": "12"}
        response = api.patch(dm_url(measure), body)
        assert response.status_code == 400
        assert response.json() == f"Bad Request: Invalid job status: {word}"
        measure.refresh_from_db()
        assert measure.request_job_status == "failed"
        assert measure.request_job_fail_msg == f"Bad Request: Invalid job status: {word}"
        assert listener.messages()[0]["status"] == "failed"

    def test_non_numeric_count_fails_the_count(self, api, measure):
        response = api.patch(dm_url(measure), {"request_job_status": "FINISHED", "count": "many"})
        assert response.status_code == 400
        measure.refresh_from_db()
        assert measure.request_job_status == "failed" and measure.measure is None

    def test_late_and_duplicated_callbacks_never_change_an_ended_count(self, api, measure, listener):
        api.patch(dm_url(measure), {"request_job_status": "FINISHED", "count": "10"})
        listener.messages()
        for body in (
            {"request_job_status": "FINISHED", "count": "99"},
            {"request_job_status": "RUNNING"},
            {"request_job_status": "ERROR", "message": "late"},
        ):
            response = api.patch(dm_url(measure), body)
            assert response.status_code == 200
            assert response.json()["request_job_status"] == "finished"
        measure.refresh_from_db()
        assert (measure.request_job_status, measure.measure, measure.request_job_fail_msg) == ("finished", 10, "")
        assert listener.messages() == []

    def test_an_invalid_status_after_the_end_changes_nothing(self, api, measure):
        api.patch(dm_url(measure), {"request_job_status": "KILLED"})
        assert api.patch(dm_url(measure), {"request_job_status": "bogus"}).status_code == 400
        measure.refresh_from_db()
        assert measure.request_job_status == "cancelled"

    def test_global_estimate_stores_bounds_without_a_push(self, api, owner, listener):
        estimate = measure_of(snapshot_of(owner, "1001"), mode="Global")
        api.patch(
            dm_url(estimate),
            {"request_job_status": "FINISHED", "count": "1234", "minimum": "1190", "maximum": "1270", "extra": {}},
        )
        estimate.refresh_from_db()
        assert (estimate.measure, estimate.measure_min, estimate.measure_max) == (1234, 1190, 1270)
        assert listener.messages() == []

    def test_the_solr_etl_may_call_back_too(self, api, measure):
        assert api.patch(dm_url(measure), {"request_job_status": "FINISHED", "count": "3"}, ETL).status_code == 200

    def test_owners_cannot_write_their_counts(self, make_client, owner, measure):
        response = make_client(owner).patch(
            dm_url(measure), {"request_job_status": "FINISHED", "measure": 5}, format="json"
        )
        assert response.status_code == 403
        measure.refresh_from_db()
        assert (measure.request_job_status, measure.measure) == ("started", None)

    def test_anonymous_and_wrong_tokens_are_refused(self, anonymous, machines, measure):
        assert anonymous.patch(dm_url(measure), {"request_job_status": "FINISHED"}, format="json").status_code == 403
        response = anonymous.patch(
            dm_url(measure), {"request_job_status": "FINISHED"}, format="json", HTTP_AUTHORIZATION="Bearer nope"
        )
        assert response.status_code == 403
        measure.refresh_from_db()
        assert measure.request_job_status == "started"

    @pytest.mark.parametrize("uuid", ["6f1e2d3c-0000-4000-8000-000000000000", "not-a-uuid"])
    def test_unknown_counts_are_404(self, api, uuid):
        assert api.patch(f"/cohort/dated-measures/{uuid}/", {"request_job_status": "FINISHED"}).status_code == 404

    def test_a_body_that_is_not_an_object_is_400(self, api, measure):
        assert api.patch(dm_url(measure), ["FINISHED"]).status_code == 400
        measure.refresh_from_db()
        assert measure.request_job_status == "started"

    def test_machines_read_every_count_but_cannot_create_or_delete(self, anonymous, machines, measure):
        assert anonymous.get(dm_url(measure), **QE).status_code == 200
        assert anonymous.get("/cohort/dated-measures/", **QE).json()["count"] == 1
        body = {"request_query_snapshot": str(measure.request_query_snapshot_id)}
        assert anonymous.post("/cohort/dated-measures/", body, format="json", **QE).status_code == 403
        assert anonymous.delete(dm_url(measure), **QE).status_code in (403, 405)
        assert DatedMeasure.objects.count() == 1


class TestCohortCallbacks:
    @pytest.fixture
    def cohort(self, measure):
        return cohort_of(measure)

    def test_small_cohort_finished(self, api, cohort, listener):
        response = api.patch(
            cohort_url(cohort),
            {"request_job_status": "FINISHED", "group.id": "123456", "group.count": "1523", "extra": {}},
        )
        assert response.status_code == 200, response.content
        body = response.json()
        assert (body["request_job_status"], body["group_id"], body["result_size"]) == ("finished", "123456", 1523)
        cohort.refresh_from_db()
        cohort.dated_measure.refresh_from_db()
        assert cohort.dated_measure.measure == 1523
        [event] = listener.messages()
        assert event == {
            "type": "job_status",
            "status": "finished",
            "uuid": str(cohort.uuid),
            "job_name": "create",
            "extra_info": {
                "request_job_status": "finished",
                "group_id": "123456",
                "result_size": 1523,
                "request_job_fail_msg": "",
            },
        }
        assert mail.outbox == []

    def test_large_cohort_waits_for_the_etl_which_mails_the_owner(self, api, measure, owner, listener):
        cohort = cohort_of(measure, status=JobStatus.LONG_PENDING)
        api.patch(
            cohort_url(cohort),
            {"request_job_status": "LONG_PENDING", "group.id": "123457", "group.count": "250000", "extra": {}},
        )
        cohort.refresh_from_db()
        assert (cohort.request_job_status, cohort.group_id) == ("long_pending", "123457")
        assert listener.messages()[0]["extra_info"]["result_size"] == 250000
        assert mail.outbox == []
        assert api.patch(cohort_url(cohort), {"request_job_status": "FINISHED"}, ETL).status_code == 200
        cohort.refresh_from_db()
        assert cohort.request_job_status == "finished"
        [email] = mail.outbox
        assert email.subject == "Votre cohorte est prête" and email.to == [owner.email]
        assert "/cohort?groupId=123457" in email.body
        # The ETL calling twice sends no second e-mail.
        api.patch(cohort_url(cohort), {"request_job_status": "FINISHED"}, ETL)
        assert len(mail.outbox) == 1

    def test_etl_failure_fails_the_cohort_without_the_ready_mail(self, api, measure):
        cohort = cohort_of(measure, status=JobStatus.LONG_PENDING, group_id="123457")
        api.patch(cohort_url(cohort), {"request_job_status": "ERROR", "message": "Solr is down"}, ETL)
        cohort.refresh_from_db()
        assert (cohort.request_job_status, cohort.request_job_fail_msg) == ("failed", "Solr is down")
        assert mail.outbox == []

    def test_global_estimate_bounds_travel_with_the_cohort(self, api, owner, measure, listener):
        estimate = measure_of(
            measure.request_query_snapshot, mode="Global", status="finished", measure_min=10, measure_max=90
        )
        cohort = cohort_of(measure, dated_measure_global=estimate)
        response = api.patch(
            cohort_url(cohort), {"request_job_status": "FINISHED", "group.id": "1", "group.count": "50"}
        )
        assert (response.json()["measure_min"], response.json()["measure_max"]) == (10, 90)
        assert listener.messages()[0]["extra_info"]["global"] == {"measure_min": 10, "measure_max": 90}

    def test_invalid_status_fails_the_cohort(self, api, cohort, listener):
        response = api.patch(cohort_url(cohort), {"request_job_status": "WHATEVER"})
        assert response.status_code == 400
        assert response.json() == "Bad Request: Invalid job status: WHATEVER"
        cohort.refresh_from_db()
        assert cohort.request_job_status == "failed"
        assert listener.messages()[0]["status"] == "failed"

    def test_late_callback_never_reopens_a_finished_cohort(self, api, cohort):
        api.patch(cohort_url(cohort), {"request_job_status": "FINISHED", "group.id": "1", "group.count": "5"})
        api.patch(cohort_url(cohort), {"request_job_status": "ERROR", "message": "late", "group.id": "2"})
        cohort.refresh_from_db()
        assert (cohort.request_job_status, cohort.group_id, cohort.request_job_fail_msg) == ("finished", "1", "")

    @pytest.mark.parametrize("field", ["dated_measure", "dated_measure_id", "owner", "request_query_snapshot_id"])
    def test_non_updatable_fields_are_refused_to_everyone(self, api, make_client, owner, cohort, field):
        for response in (
            api.patch(cohort_url(cohort), {"request_job_status": "FINISHED", field: "x"}),
            make_client(owner).patch(cohort_url(cohort), {"name": "n", field: "x"}, format="json"),
        ):
            assert response.status_code == 400
            assert response.json().startswith("The payload contains non-updatable fields")
        cohort.refresh_from_db()
        assert (cohort.request_job_status, cohort.name) == ("started", "My cohort")

    @pytest.mark.parametrize(
        "body",
        [
            {"request_job_status": "finished"},
            {"group_id": "999"},
            {"group.id": "999"},
            {"request_job_fail_msg": "x"},
            {"group.count": "3"},
        ],
    )
    def test_owners_cannot_write_job_fields(self, make_client, owner, cohort, body):
        response = make_client(owner).patch(cohort_url(cohort), body, format="json")
        assert response.status_code == 400
        cohort.refresh_from_db()
        assert (cohort.request_job_status, cohort.group_id) == ("started", "")

    def test_owners_edit_name_description_and_favorite(self, make_client, owner, cohort):
        response = make_client(owner).patch(
            cohort_url(cohort), {"name": "Renamed", "description": "d", "favorite": True}, format="json"
        )
        assert response.status_code == 200
        cohort.refresh_from_db()
        assert (cohort.name, cohort.description, cohort.favorite) == ("Renamed", "d", True)

    def test_bad_owner_edits_are_400(self, make_client, owner, cohort):
        client = make_client(owner)
        assert client.patch(cohort_url(cohort), {"name": "x" * 300}, format="json").status_code == 400
        assert client.patch(cohort_url(cohort), {"favorite": "maybe"}, format="json").status_code == 400
        cohort.refresh_from_db()
        assert (cohort.name, cohort.favorite) == ("My cohort", False)

    def test_other_users_cohorts_are_404(self, make_client, cohort):
        stranger = make_client(UserFactory())
        assert stranger.get(cohort_url(cohort)).status_code == 404
        assert stranger.patch(cohort_url(cohort), {"name": "mine"}, format="json").status_code == 404
        assert stranger.delete(cohort_url(cohort)).status_code == 404
        cohort.refresh_from_db()
        assert cohort.name == "My cohort" and cohort.deleted is None

    def test_machines_see_subsets_but_cannot_create_or_delete(self, anonymous, machines, cohort, measure):
        cohort_of(measure, is_subset=True)
        assert anonymous.get("/cohort/cohorts/", **QE).json()["count"] == 2
        assert anonymous.post("/cohort/cohorts/", {"name": "x"}, format="json", **QE).status_code == 403
        assert anonymous.delete(cohort_url(cohort), **QE).status_code == 403
        assert CohortResult.objects.count() == 2


class TestCallbackOnARowThatChangedSinceItWasRead:
    """The callback view reads the count, then writes it with one conditional UPDATE; a change in between
    (another callback, a cancellation, the submission task) sends it through the locked path instead."""

    @pytest.fixture
    def call_back(self, django_capture_on_commit_callbacks):
        def call(read, payload):
            with django_capture_on_commit_callbacks(execute=True):
                return callbacks.measure_callback(read, payload)

        return call

    def test_a_count_cancelled_after_the_read_stays_cancelled(self, owner, listener, call_back):
        measure = measure_of(snapshot_of(owner, "1001"), status="started")
        read = DatedMeasure.objects.get(pk=measure.pk)
        DatedMeasure.objects.filter(pk=measure.pk).update(request_job_status="cancelled", modified_at=timezone.now())
        answered = call_back(read, {"request_job_status": "FINISHED", "count": "7"})
        measure.refresh_from_db()
        assert (measure.request_job_status, measure.measure) == ("cancelled", None)
        assert (answered.request_job_status, answered.measure) == ("cancelled", None)
        assert listener.messages() == []

    def test_a_column_written_after_the_read_is_kept(self, owner, listener, call_back):
        measure = measure_of(snapshot_of(owner, "1001"), status="pending", request_job_id="")
        read = DatedMeasure.objects.get(pk=measure.pk)
        DatedMeasure.objects.filter(pk=measure.pk).update(request_job_id="job-77", modified_at=timezone.now())
        call_back(read, {"request_job_status": "FINISHED", "count": "7"})
        measure.refresh_from_db()
        assert (measure.request_job_status, measure.measure, measure.request_job_id) == ("finished", 7, "job-77")
        assert [m["status"] for m in listener.messages()] == ["finished"]

    def test_an_unchanged_row_is_written_at_once(self, owner, listener, call_back, django_assert_max_num_queries):
        measure = measure_of(snapshot_of(owner, "1001"), status="started")
        read = DatedMeasure.objects.get(pk=measure.pk)
        # The UPDATE alone: no lock, no re-read, and no schedule bookkeeping for a count that is no schedule's run.
        with django_assert_max_num_queries(1):
            answered = call_back(read, {"request_job_status": "FINISHED", "count": "7"})
        measure.refresh_from_db()
        assert (measure.request_job_status, measure.measure, answered.measure) == ("finished", 7, 7)
        assert measure.modified_at == answered.modified_at
        assert [m["status"] for m in listener.messages()] == ["finished"]


class TestSubmissionRecordAfterTheCallback:
    """The submission task records the job id after the QueryExecutor answered; a fast callback may be first."""

    def test_a_callback_before_the_job_id_is_recorded_is_not_overwritten(self, api, owner):
        from cohort.services import jobs

        measure = measure_of(snapshot_of(owner, "1001"), status="pending", request_job_id="")
        claimed = DatedMeasure.objects.get(pk=measure.pk)
        api.patch(dm_url(measure), {"request_job_status": "FINISHED", "count": "7"})
        jobs.record_submission(claimed, job_id="job-42", status="started")
        measure.refresh_from_db()
        assert (measure.request_job_status, measure.measure, measure.request_job_id) == ("finished", 7, "job-42")

    def test_a_count_cancelled_while_it_was_submitted_stays_cancelled(self, owner, listener):
        from cohort.services import jobs

        measure = measure_of(snapshot_of(owner, "1001"), status="pending", request_job_id="")
        claimed = DatedMeasure.objects.get(pk=measure.pk)
        DatedMeasure.objects.filter(pk=measure.pk).update(request_job_status="cancelled")
        recorded = jobs.record_submission(claimed, job_id="job-44", status="started")
        measure.refresh_from_db()
        assert (measure.request_job_status, measure.request_job_id) == ("cancelled", "job-44")
        assert recorded.request_job_status == "cancelled"
        assert listener.messages() == []

    def test_a_large_cohort_stays_long_pending_when_submitted(self, owner):
        from cohort.services import jobs

        cohort = cohort_of(measure_of(snapshot_of(owner, "1001")), status="long_pending", request_job_id="")
        jobs.record_submission(cohort, job_id="job-43", status="started")
        cohort.refresh_from_db()
        assert (cohort.request_job_status, cohort.request_job_id) == ("long_pending", "job-43")
