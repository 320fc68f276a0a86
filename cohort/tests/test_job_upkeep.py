"""Jobs never stuck (the stale-job reconciler) and saved queries following perimeter cohort-id changes."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accesses.signals import perimeter_cohort_ids_changed
from cohort.models import CohortResult, DatedMeasure, RequestQuerySnapshotPatch
from cohort.services.reconciliation import fail_stale_jobs
from cohort.tests.builders import cohort_of, measure_of, snapshot_of
from cohort.tests.channel_listener import GroupListener
from tests.factories import UserFactory


def age(model, job, minutes: int) -> None:
    model.all_objects.filter(pk=job.pk).update(modified_at=timezone.now() - timedelta(minutes=minutes))


class TestStaleJobs:
    @pytest.fixture(autouse=True)
    def _limits(self, settings):
        settings.STALE_JOB_AFTER_MINUTES = 60
        settings.STALE_LONG_PENDING_JOB_AFTER_MINUTES = 600

    def test_jobs_without_news_fail_with_a_reason_and_the_owner_hears_it(self, db, django_capture_on_commit_callbacks):
        owner = UserFactory()
        listener = GroupListener(owner.username)
        snapshot = snapshot_of(owner, "1")
        stale = {status: measure_of(snapshot, status=status) for status in ("new", "pending", "started")}
        fresh = measure_of(snapshot, status="started")
        done = measure_of(snapshot, status="finished")
        for job in [*stale.values(), done]:
            age(DatedMeasure, job, 61)
        with django_capture_on_commit_callbacks(execute=True):
            assert fail_stale_jobs() == 3
        for job in stale.values():
            job.refresh_from_db()
            assert job.request_job_status == "failed"
            assert job.request_job_fail_msg == "No news of the job for 60 minutes: it was given up"
        fresh.refresh_from_db()
        done.refresh_from_db()
        assert (fresh.request_job_status, done.request_job_status) == ("started", "finished")
        assert sorted(event["uuid"] for event in listener.messages()) == sorted(str(j.uuid) for j in stale.values())

    def test_large_cohorts_wait_longer(self, db):
        owner = UserFactory()
        measure = measure_of(snapshot_of(owner, "1"), status="finished")
        waiting = cohort_of(measure, status="long_pending")
        forgotten = cohort_of(measure, status="long_pending")
        age(CohortResult, waiting, 120)
        age(CohortResult, forgotten, 601)
        assert fail_stale_jobs() == 1
        waiting.refresh_from_db()
        forgotten.refresh_from_db()
        assert (waiting.request_job_status, forgotten.request_job_status) == ("long_pending", "failed")
        assert "600 minutes" in forgotten.request_job_fail_msg


class TestPerimeterCohortIdChanges:
    def test_saved_queries_follow_renamed_perimeters(self, db, django_capture_on_commit_callbacks):
        owner = UserFactory()
        renamed = snapshot_of(owner, "111", "222")
        untouched = snapshot_of(owner, "1111", "333")
        perimeter_cohort_ids_changed.send(sender=None, changes={"111": "999", "444": "555"})
        renamed.refresh_from_db()
        untouched.refresh_from_db()
        assert renamed.perimeters_ids == ["999", "222"]
        assert json.loads(renamed.serialized_query)["sourcePopulation"]["caresiteCohortList"] == ["999", "222"]
        assert json.loads(renamed.serialized_query)["request"]["criteria"][0]["filterFhir"] == "gender=female"
        assert untouched.perimeters_ids == ["1111", "333"]
        [patch] = RequestQuerySnapshotPatch.objects.filter(snapshot=renamed)
        assert json.loads(patch.serialized_query)["sourcePopulation"]["caresiteCohortList"] == ["111", "222"]
        assert not RequestQuerySnapshotPatch.objects.filter(snapshot=untouched).exists()
