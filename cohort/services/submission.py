"""Submitting a job to the job server from a task: claim, build the request, submit, record or fail."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from django.db import transaction

from accesses.models import Perimeter
from cohort.job_server import AuthHeaders, JobRequest, JobServerError, job_server
from cohort.models import JobModel, JobStatus
from cohort.services import jobs
from cohort.services.perimeter_rights import ReadingCheck, check_reading

_logger = logging.getLogger("info")


def root_cohort_id() -> str | None:
    """The whole hospital: count_all and feasibility jobs replace the source population with it."""
    root = Perimeter.objects.filter(parent__isnull=True, level=1).values_list("cohort_id", flat=True).first()
    return root


def perimeters_of(serialized_query: str) -> list[str]:
    try:
        population = json.loads(serialized_query).get("sourcePopulation") or {}
        return [str(item) for item in population.get("caresiteCohortList") or []]
    except (ValueError, AttributeError):
        return []


def _checked_reading(owner, cohort_ids: list[str]) -> ReadingCheck:
    """The owner's reading rights on the perimeters; raises JobServerError when they may not run the job
    (spec 02 §11.3): nothing is submitted then."""
    if not cohort_ids:
        raise JobServerError("The query has no source population (sourcePopulation.caresiteCohortList is empty)")
    check = check_reading(owner, cohort_ids)
    if not check.allowed:
        raise JobServerError(f"Forbidden: no read access to the perimeter(s) {', '.join(check.missing)}")
    return check


def submit(
    model: type[JobModel], pk, build: Callable[[JobModel], JobRequest], *, task_id_field: str | None, task_id: str
) -> None:
    """Claims the job, builds its JobRequest with `build(job)` and submits it; every failure fails the job.

    `build` may raise JobServerError (e.g. forbidden perimeters) before anything is sent.
    """
    job = jobs.claim_for_submission(model, pk, task_id_field=task_id_field, task_id=task_id)
    if job is None:
        _logger.info("%s %s is not to be submitted (already submitted, final or deleted)", model.__name__, pk)
        return
    try:
        request = build(job)
        submitted = job_server().submit(request)
    except JobServerError as error:
        jobs.fail(model, pk, str(error) or error.__class__.__name__)
        return
    except Exception as error:  # a bug must not leave the job pending for ever
        _logger.exception("Submission of %s %s crashed", model.__name__, pk)
        jobs.fail(model, pk, f"Internal error while submitting the job: {error.__class__.__name__}")
        return
    recorded = jobs.record_submission(job, job_id=submitted.job_id, status=submitted.status)
    if recorded.request_job_status == JobStatus.CANCELLED:
        # Cancelled while we were submitting: the remote job is useless, stop it (best effort).
        transaction.on_commit(lambda: _cancel_quietly(submitted.job_id))


def _cancel_quietly(job_id: str) -> None:
    try:
        job_server().cancel(job_id)
    except JobServerError as error:
        _logger.info("Could not cancel the orphan job %s: %s", job_id, error)


def job_request(
    job, *, mode: str, serialized_query: str, auth: dict | None, perimeters: list[str] | None = None, **options
) -> JobRequest:
    """The job to submit, once the owner's reading rights on the query's perimeters are checked.

    `perimeters`: the perimeter cohort ids whose reading rights apply, when the query's source population
    is not made of perimeters (samples read inside a cohort). Raises JobServerError when refused.
    """
    check = _checked_reading(job.owner, perimeters if perimeters is not None else perimeters_of(serialized_query))
    return JobRequest(
        mode=mode,
        instance_id=str(job.pk),
        owner=job.owner_id,
        serialized_query=serialized_query,
        auth=AuthHeaders(**(auth or {})),
        pseudonymised=check.pseudonymised,
        **options,
    )
