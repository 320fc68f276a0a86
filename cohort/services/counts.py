"""Counts (dated measures, spec 02 §6): launching, cancelling the previous ones, submitting, callbacks."""

from __future__ import annotations

import logging

from django.db.models import Q

from cohort.job_server import JobServerError, job_server
from cohort.models import CohortResult, DatedMeasure, JobStatus, MeasureMode, RequestQuerySnapshot
from cohort.services import jobs, submission
from cohort.services.queueing import queue_after_commit

_logger = logging.getLogger("info")


def launch_count(
    *,
    owner,
    snapshot: RequestQuerySnapshot,
    auth: dict,
    stage_details: str | None = None,
    mode: str = "Snapshot",
    from_translated_query: bool = False,
) -> DatedMeasure:
    """A new count of the snapshot; its job is submitted by a task once the caller's transaction commits, at
    once without one (the row is a single INSERT: no transaction of its own).

    `from_translated_query`: a refresh schedule's run, which has no user credentials and submits the
    snapshot's stored `translated_query` (spec 02 §9.2).
    """
    measure = DatedMeasure.objects.create(
        owner=owner, request_query_snapshot=snapshot, mode=mode, scheduled_refresh=from_translated_query
    )
    queue_after_commit(
        DatedMeasure,
        measure.pk,
        "cohort.tasks.submit_count",
        str(measure.pk),
        auth,
        stage_details,
        from_translated_query,
    )
    return measure


def submit_count(
    measure_pk, *, auth: dict, stage_details: str | None, task_id: str, from_translated_query: bool = False
) -> None:
    """The count task: stop the request's previous counts, then submit this one.

    A scheduled refresh stops nothing: the owner's own counts of the request are not its business.
    """

    def build(job: DatedMeasure):
        query = job.request_query_snapshot.serialized_query
        if job.mode == MeasureMode.GLOBAL:
            return submission.job_request(
                job, mode="count_all", serialized_query=query, auth=auth, source_population=_root_population()
            )
        if not from_translated_query:
            cancel_previous_counts(job)
        translated = _stored_translation(job.request_query_snapshot) if from_translated_query else None
        return submission.job_request(
            job,
            mode="count",
            serialized_query=query,
            auth=auth,
            stage_details=stage_details,
            translated_query=translated,
        )

    submission.submit(DatedMeasure, measure_pk, build, task_id_field="count_task_id", task_id=task_id)


def _stored_translation(snapshot: RequestQuerySnapshot) -> str:
    if not snapshot.translated_query:
        raise JobServerError("The query of this snapshot was never translated for a refresh schedule")
    return snapshot.translated_query


def _root_population() -> list[str]:
    root = submission.root_cohort_id()
    if root is None:
        raise JobServerError("The perimeter tree has no root: the whole-hospital estimate cannot run")
    return [root]


def cancel_previous_counts(measure: DatedMeasure) -> None:
    """Counts of the same request still running and not used by a cohort are stopped (spec 02 §6.3).

    Runs for every count: the running ones are looked for first, with a plain query that usually finds none,
    and only those are checked for a cohort using them.
    """
    running = list(
        DatedMeasure.objects.filter(
            request_query_snapshot__request_id=measure.request_query_snapshot.request_id,
            mode=MeasureMode.SNAPSHOT,
            request_job_status__in=[JobStatus.NEW, JobStatus.PENDING, JobStatus.STARTED],
            created_at__lte=measure.created_at,
        )
        .exclude(pk=measure.pk)
        .values_list("pk", "request_job_status", "request_job_id")
    )
    if not running:
        return
    candidates = [pk for pk, _, _ in running]
    using = CohortResult.all_objects.filter(Q(dated_measure__in=candidates) | Q(dated_measure_global__in=candidates))
    used = {pk for pair in using.values_list("dated_measure_id", "dated_measure_global_id") for pk in pair}
    for pk, status, job_id in running:
        if pk in used:
            continue
        if job_id:
            _cancel_remote(pk, status, job_id)
        else:
            # Not submitted yet: its task finds it cancelled and submits nothing.
            jobs.transition(DatedMeasure, pk, lambda job: jobs.set_status(job, JobStatus.CANCELLED))


def _cancel_remote(pk, status: str, job_id: str) -> None:
    try:
        outcome = job_server().cancel(job_id)
    except JobServerError as error:
        jobs.fail(DatedMeasure, pk, f"Error cancelling a {status} DM job [{job_id}] - {error}")
        return
    jobs.transition(DatedMeasure, pk, lambda job: jobs.set_status(job, outcome))
