"""Running an export through the engine's steps (spec 02 §16.6, §17) without holding a worker while it runs.

The row is the export's truth. `launch` (a task queued after commit) starts the steps in order until one
starts a remote task; a periodic poller (`poll_exports`) reads that task's status and, once it succeeded,
starts the following steps. Every transition goes through the cohort app's forward-only job transitions,
so a failed or finished export never moves again, and `exports.services.notifications` mails the owner when
it ends. Each continuation is claimed by a conditional update, so several pollers never run a step twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone

from cohort.models import ACTIVE_STATUSES, JobStatus
from cohort.services import jobs
from exports.engine import ExportStep, ExportStepError, RemoteTaskUnreachable, export_engine
from exports.models import Export

_logger = logging.getLogger("info")

# The step whose remote task is the Export API's: its id is the export's `request_job_id` (spec 02 §14.3).
EXPORT_API_STEP = "export"
_STARTING = "starting"


def launch_after_commit(export: Export) -> None:
    from cohort.services.queueing import queue_after_commit

    queue_after_commit(Export, export.pk, "exports.tasks.launch_export", str(export.pk))


def fail(pk, reason: str) -> None:
    jobs.fail(Export, pk, reason)


def launch(pk) -> None:
    """Starts a new export's steps; a re-delivered or duplicated launch finds it started and does nothing."""

    def claim(export: Export) -> bool:
        if export.deleted or export.request_job_status != JobStatus.NEW or export.step:
            return False
        export.request_job_status = JobStatus.PENDING
        export.step = _STARTING
        export.launched_at = timezone.now()
        return True

    export = jobs.transition(Export, pk, claim)
    if export is None:
        _logger.info("Export %s is not to be launched (already launched, final or deleted)", pk)
        return
    from exports.services import notifications

    notifications.export_received(export)
    try:
        steps = export_engine().steps(export)
    except ExportStepError as error:
        fail(pk, str(error))
        return
    _run_steps(export, steps, 0)


def _run_steps(export: Export, steps: list[ExportStep], first: int) -> None:
    """Starts steps from `first` until one leaves a remote task to wait for, or finishes the export."""
    for step in steps[first:]:
        try:
            task_id = step.start(export)
        except ExportStepError as error:
            fail(export.pk, f"{step.failure_prefix}{error}")
            return
        except Exception as error:  # a bug must not leave the export running for ever
            _logger.exception("Step %s of export %s crashed", step.name, export.pk)
            fail(export.pk, f"{step.failure_prefix}internal error ({error.__class__.__name__})")
            return
        if task_id:
            _wait_for(export.pk, step.name, task_id)
            return
    _finish(export.pk)


def _wait_for(pk, step_name: str, task_id: str) -> None:
    def record(export: Export) -> bool:
        export.step = step_name
        export.step_task_id = task_id
        export.poll_failures = 0
        export.polled_at = None
        if step_name == EXPORT_API_STEP:
            export.request_job_id = task_id
        return True

    jobs.transition(Export, pk, record)


def _finish(pk) -> None:
    def finish(export: Export) -> bool:
        export.step = ""
        export.step_task_id = ""
        jobs.set_status(export, JobStatus.FINISHED)
        # The run's length, not the export's age: a retried export ran only since its retry.
        export.request_job_duration = str(timezone.now() - (export.launched_at or export.created_at))
        return True

    jobs.transition(Export, pk, finish)


def advance(pk) -> None:
    """Reads the status of the remote task the export waits for and moves the export on."""
    export = Export.objects.filter(pk=pk, request_job_status__in=ACTIVE_STATUSES).exclude(step_task_id="").first()
    if export is None:
        return
    try:
        steps = export_engine().steps(export)
        index = [step.name for step in steps].index(export.step)
    except (ExportStepError, ValueError) as error:
        fail(pk, f"The export cannot go on from step `{export.step}`: {error}")
        return
    step, task_id = steps[index], export.step_task_id
    try:
        status = step.poll(task_id)
    except RemoteTaskUnreachable as error:
        _count_failed_poll(export, step, error)
        return
    if status == JobStatus.FINISHED:
        # Only one poller goes on with the next steps: the one that clears the task it waited for.
        claimed = Export.objects.filter(pk=pk, step=step.name, step_task_id=task_id).update(
            step_task_id="", modified_at=timezone.now()
        )
        if claimed:
            _run_steps(export, steps, index + 1)
    elif status in (JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.UNKNOWN):
        fail(pk, step.ended_badly(task_id, status))
    elif status in (JobStatus.PENDING, JobStatus.STARTED):
        jobs.transition(Export, pk, lambda job: job.step_task_id == task_id and jobs.set_status(job, status))


def _count_failed_poll(export: Export, step: ExportStep, error: Exception) -> None:
    Export.objects.filter(pk=export.pk).update(poll_failures=F("poll_failures") + 1)
    failures = Export.objects.filter(pk=export.pk).values_list("poll_failures", flat=True).first() or 0
    _logger.info("Status of task %s of export %s unreadable (%s): %s", export.step_task_id, export.pk, failures, error)
    if failures >= settings.EXPORT_MAX_POLL_FAILURES:
        fail(
            export.pk,
            f"{step.failure_prefix}the status of job `{export.step_task_id}` could not be read "
            f"{failures} times: {error}",
        )


def poll_exports() -> None:
    """One round of the periodic poller: every export waiting for a remote task is advanced once, and
    exports that ran for longer than EXPORT_TIMEOUT_HOURS fail."""
    now = timezone.now()
    for pk in _timed_out(now):
        fail(pk, f"The export did not finish within {settings.EXPORT_TIMEOUT_HOURS} hours")
    half_interval = timedelta(seconds=settings.EXPORT_POLL_INTERVAL_SECONDS / 2)
    due = (
        Export.objects.filter(request_job_status__in=ACTIVE_STATUSES)
        .exclude(step_task_id="")
        .filter(Q(polled_at__isnull=True) | Q(polled_at__lt=now - half_interval))
        .values_list("pk", "polled_at")
    )
    for pk, polled_at in due:
        # Several beats may run this round: the one that moves `polled_at` polls.
        if Export.objects.filter(pk=pk, polled_at=polled_at).update(polled_at=now):
            advance(pk)


def _timed_out(now) -> list:
    """Exports running for longer than EXPORT_TIMEOUT_HOURS since their (re)launch, or not launched for that long
    since they were created or retried. Those waiting for a cohort subset are left to the subset: the cohort
    reconciler fails it when stale (large subsets wait for the Solr ETL longer than an export may run)."""
    limit = now - timedelta(hours=settings.EXPORT_TIMEOUT_HOURS)
    waiting_for_subset = Export.objects.filter(
        export_tables__cohort_result_subset__request_job_status__in=ACTIVE_STATUSES
    ).values("pk")
    never_launched = Q(launched_at__isnull=True, modified_at__lt=limit) & ~Q(pk__in=waiting_for_subset)
    timed_out = Export.objects.filter(Q(launched_at__lt=limit) | never_launched, request_job_status__in=ACTIVE_STATUSES)
    return list(timed_out.values_list("pk", flat=True))
