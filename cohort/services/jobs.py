"""The life cycle shared by every job (counts, cohorts, feasibility studies): forward-only transitions.

Each transition locks the job's row for the few statements it takes (never while talking to a remote
service), re-reads it, and applies the change only if the job may still move that way. So a callback that
lands before the submission task records the job id is never overwritten, a late or duplicated callback
never moves a finished job, and nobody busy-waits (spec 02 §6.2, §7.6, §21.11).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from admin_cohort.lookups import one_or_none
from cohort.models import FINAL_STATUSES, UNSUBMITTED_STATUSES, JobModel, JobStatus
from cohort.services import notifications
from cohort.signals import job_ended

_logger = logging.getLogger("info")


def duration_since(created_at) -> str:
    """Python's timedelta text, as the clients display it (`0:00:41.123456`)."""
    return str(timezone.now() - created_at)


def _locked(model: type[JobModel], pk) -> JobModel | None:
    return one_or_none(model.all_objects.select_for_update().filter(pk=pk))


def transition(model: type[JobModel], pk, change: Callable[[JobModel], bool]) -> JobModel | None:
    """Applies `change` to the locked row unless the job is final; `change` returns whether it changed it.

    The owner is notified and `job_ended` sent when the job changed (after commit for the notification).
    Returns the job when it changed, else None.
    """
    with transaction.atomic():
        job = _locked(model, pk)
        if job is None or job.request_job_status in FINAL_STATUSES:
            return None
        if not change(job):
            return None
        job.save()  # the columns `change` touched only
        _announce_move(model, job)
        return job


def transition_from(job: JobModel, change: Callable[[JobModel], bool]) -> JobModel | None:
    """transition() for a job the caller has just read, without a lock (a callback's view read it to answer
    404 or 403): `change` is applied to that copy, which is written if the row is still as it was read (same
    status, same `modified_at`). When it is not, or when `change` changes nothing, the locked transition()
    decides on the row as it is now.
    """
    if job.request_job_status in FINAL_STATUSES:
        return None  # forward-only: a job read final stays final
    as_read = {"request_job_status": job.request_job_status, "modified_at": job.modified_at}
    if change(job) and _written_if_still(job, **as_read):
        _announce_move(type(job), job)
        return job
    return transition(type(job), job.pk, change)


def _written_if_still(job: JobModel, **as_read) -> bool:
    """One conditional UPDATE of the columns changed on `job`, applied only if its row still matches `as_read`."""
    values = {name: getattr(job, name) for name in job.changed_columns()}
    values["modified_at"] = timezone.now()
    if not type(job).all_objects.filter(pk=job.pk, **as_read).update(**values):
        return False
    job.modified_at = values["modified_at"]
    job.columns_saved()
    return True


def set_status(job: JobModel, status: str, *, fail_msg: str | None = None) -> bool:
    """Sets a new status on a job about to be written, with the duration when it ends. Returns whether anything
    changed."""
    changed = job.request_job_status != status
    job.request_job_status = status
    if status in FINAL_STATUSES:
        job.request_job_duration = duration_since(job.created_at)
    if fail_msg is not None and status == JobStatus.FAILED:
        changed |= job.request_job_fail_msg != fail_msg
        job.request_job_fail_msg = fail_msg
    return changed


def fail(model: type[JobModel], pk, reason: str) -> JobModel | None:
    """Any failure at a boundary: the job fails with a reason and the owner hears of it."""
    _logger.info("Job %s %s failed: %s", model.__name__, pk, reason)
    return transition(model, pk, lambda job: set_status(job, JobStatus.FAILED, fail_msg=reason))


def claim_for_submission(model: type[JobModel], pk, *, task_id_field: str | None, task_id: str) -> JobModel | None:
    """The submission task takes the job: only once the job id is unknown and the job not final.

    Re-deliveries of the task (acks_late after a lost worker) resubmit a job whose id was never recorded.
    The claim is a conditional UPDATE, then one read of the job with its owner and query snapshot, which
    every submission reads: no lock and no transaction, for a task that runs for every count of every user.
    """
    claimable = model.all_objects.filter(pk=pk, deleted__isnull=True, request_job_id="")
    task = {task_id_field: task_id or ""} if task_id_field else {}
    now = timezone.now()
    pending = claimable.filter(request_job_status=JobStatus.NEW).update(
        request_job_status=JobStatus.PENDING, modified_at=now, **task
    )
    if not pending and not claimable.exclude(request_job_status__in=FINAL_STATUSES).update(modified_at=now, **task):
        return None
    job = one_or_none(model.all_objects.select_related("owner", "request_query_snapshot").filter(pk=pk))
    if job is not None and pending:
        notifications.job_status_changed(job)
    return job


def record_submission(claimed: JobModel, *, job_id: str, status: str) -> JobModel:
    """The job server accepted the `claimed` job: its id is recorded; its status moves on only if nothing
    happened since.

    When the job is as it was claimed, one conditional UPDATE writes both. Otherwise (a callback was faster,
    or the job was cancelled meanwhile) the locked path settles it: a cohort announced as large keeps
    `long_pending`; a job that a callback already finished keeps its end.
    """
    claimed_status = claimed.request_job_status
    if claimed_status in UNSUBMITTED_STATUSES and status != claimed_status:
        claimed.request_job_id = job_id
        set_status(claimed, status)
        if _written_if_still(claimed, request_job_id="", request_job_status=claimed_status):
            _announce_move(type(claimed), claimed)
            return claimed
    return _record_submission_locked(type(claimed), claimed.pk, job_id=job_id, status=status)


def _record_submission_locked(model: type[JobModel], pk, *, job_id: str, status: str) -> JobModel:
    with transaction.atomic():
        job = _locked(model, pk)
        if not job.request_job_id:
            job.request_job_id = job_id
        moved = job.request_job_status in UNSUBMITTED_STATUSES and status != job.request_job_status
        if moved:
            set_status(job, status)
        job.save()
        if moved:
            _announce_move(model, job)
        return job


def _announce_move(model: type[JobModel], job: JobModel) -> None:
    notifications.job_status_changed(job)
    if job.request_job_status in FINAL_STATUSES:
        job_ended.send(sender=model, instance=job)


def stale_jobs(model: type[JobModel], *, now=None):
    """Jobs without news for too long: lost tasks, forgotten remote jobs (settings STALE_*)."""
    from django.conf import settings

    now = now or timezone.now()
    active = set(JobStatus) - FINAL_STATUSES - {JobStatus.DENIED, JobStatus.CLEANED, JobStatus.LONG_PENDING}
    short = model.objects.filter(
        request_job_status__in=active,
        modified_at__lt=now - timedelta(minutes=settings.STALE_JOB_AFTER_MINUTES),
    )
    long = model.objects.filter(
        request_job_status=JobStatus.LONG_PENDING,
        modified_at__lt=now - timedelta(minutes=settings.STALE_LONG_PENDING_JOB_AFTER_MINUTES),
    )
    return list(short.values_list("pk", flat=True)) + list(long.values_list("pk", flat=True))
