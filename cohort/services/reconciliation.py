"""The periodic safety net: jobs without news for too long are failed, so none stays pending for ever."""

from __future__ import annotations

from django.conf import settings

from cohort.models import CohortResult, DatedMeasure, FeasibilityStudy, JobStatus
from cohort.services import jobs


def fail_stale_jobs() -> int:
    failed = 0
    for model in (DatedMeasure, CohortResult, FeasibilityStudy):
        for pk in jobs.stale_jobs(model):
            job = model.all_objects.filter(pk=pk).values_list("request_job_status", flat=True).first()
            minutes = (
                settings.STALE_LONG_PENDING_JOB_AFTER_MINUTES
                if job == JobStatus.LONG_PENDING
                else settings.STALE_JOB_AFTER_MINUTES
            )
            if jobs.fail(model, pk, f"No news of the job for {minutes} minutes: it was given up"):
                failed += 1
    return failed
