"""The job fields shared by counts, cohorts and feasibility studies (spec 02 §2), and their state machine."""

from __future__ import annotations

from django.db import models


class JobStatus(models.TextChoices):
    NEW = "new"
    DENIED = "denied"
    VALIDATED = "validated"
    PENDING = "pending"
    LONG_PENDING = "long_pending"
    STARTED = "started"
    FAILED = "failed"
    CANCELLED = "cancelled"
    FINISHED = "finished"
    CLEANED = "cleaned"
    UNKNOWN = "unknown"


# A job in one of these states never changes again: late or duplicated callbacks are ignored.
FINAL_STATUSES = frozenset({JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.FINISHED, JobStatus.UNKNOWN})
# Before the job server has accepted the job (the submission task may still record it).
UNSUBMITTED_STATUSES = frozenset({JobStatus.NEW, JobStatus.VALIDATED, JobStatus.PENDING})
ACTIVE_STATUSES = frozenset(set(JobStatus) - FINAL_STATUSES - {JobStatus.DENIED, JobStatus.CLEANED})


class JobModel(models.Model):
    request_job_id = models.TextField(blank=True, default="")
    request_job_status = models.CharField(max_length=15, choices=JobStatus.choices, default=JobStatus.NEW)
    request_job_fail_msg = models.TextField(blank=True, default="")
    request_job_duration = models.TextField(blank=True, default="")

    class Meta:
        abstract = True

    @property
    def is_final(self) -> bool:
        return self.request_job_status in FINAL_STATUSES
