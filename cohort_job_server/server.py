"""The QueryExecutor behind the cohort app's job-server interface (cohort/job_server.py, spec 03 §2)."""

from __future__ import annotations

import logging

from django.conf import settings

from cohort.job_server import InvalidJobStatusError, JobRequest, JobServerError, SubmittedJob
from cohort.models import JobStatus
from cohort_job_server import statuses
from cohort_job_server.client import QueryExecutorClient
from cohort_job_server.hocon import JobInput, job_body
from cohort_job_server.pseudonymisation import restrict_fhir_filters
from cohort_job_server.query import dumps, normalise, serialise
from cohort_job_server.solr import translate_criteria

_logger = logging.getLogger("info")

MODES = ("count", "count_all", "count_with_details", "create")
# What a job just accepted can be; an end state here would finish the job before its result arrives.
_ACCEPTED_STATUSES = (JobStatus.PENDING, JobStatus.STARTED, JobStatus.LONG_PENDING)


class QueryExecutorJobServer:
    def submit(self, job: JobRequest) -> SubmittedJob:
        if job.mode not in MODES:
            raise JobServerError(f"Unknown job mode {job.mode!r}")
        client = QueryExecutorClient()  # fails at once when unconfigured, before any FHIR call
        query = self._prepared(job)
        body = job_body(
            JobInput(
                syntax=serialise(query),
                mode=job.mode,
                cohort_uuid=query["instance_id"],
                owner=job.owner,
                callback_path=_callback_path(job),
                sampling=job.sampling_ratio,
                details=job.stage_details,
            )
        )
        descriptor = client.submit(body, create=job.mode == "create")
        job_id = descriptor.get("jobId")
        if not isinstance(job_id, str) or not job_id.strip():
            raise JobServerError("The QueryExecutor accepted the job without giving its job id")
        try:
            status = statuses.map_status(descriptor.get("status"))
        except InvalidJobStatusError:
            raise JobServerError(
                f"The QueryExecutor answered the job submission without a valid job status ({_shown(descriptor)})"
            ) from None
        if status not in _ACCEPTED_STATUSES:
            raise JobServerError(f"The QueryExecutor did not accept the job: it answered {descriptor['status']}")
        _logger.info("QueryExecutor job %s submitted: %s of %s", job_id, job.mode, job.instance_id)
        return SubmittedJob(job_id=job_id, status=status)

    def cancel(self, job_id: str) -> str:
        """Spec 02 §6.3: 403 means the job already ended; otherwise the answer must say cancelled or finished."""
        if not job_id:
            raise JobServerError("The job has no QueryExecutor job id to cancel")
        http_status, descriptor = QueryExecutorClient().cancel(job_id)
        if http_status == 403:
            return JobStatus.FINISHED.value
        if descriptor is None:
            raise JobServerError(f"The QueryExecutor could not cancel the job (HTTP {http_status})")
        try:
            status = statuses.map_status(descriptor.get("status"))
        except InvalidJobStatusError:
            raise JobServerError(
                f"The QueryExecutor answered the cancellation without a valid job status ({_shown(descriptor)})"
            ) from None
        if status not in (JobStatus.CANCELLED, JobStatus.FINISHED):
            raise JobServerError(f"The QueryExecutor answered the cancellation with status {descriptor['status']}")
        return status

    def map_status(self, status: object) -> str:
        return statuses.map_status(status)

    def translate(self, job: JobRequest) -> str:
        """The normalised query with its criteria translated, while the user's credentials are at hand.

        The pseudonymisation filter, if any, is part of the translation, so later runs keep it.
        """
        return dumps(self._prepared(job))

    def _prepared(self, job: JobRequest) -> dict:
        """The normalised query of a job, translated for Solr (unless it comes translated already)."""
        if job.translated_query is not None:
            return normalise(job.translated_query, instance_id=job.instance_id, source_population=job.source_population)
        query = normalise(job.serialized_query, instance_id=job.instance_id, source_population=job.source_population)
        if settings.USE_SOLR:
            translate_criteria(query, auth=job.auth, pseudonymised=job.pseudonymised)
        elif job.pseudonymised:
            restrict_fhir_filters(query)
        return query


def _callback_path(job: JobRequest) -> str | None:
    # Feasibility studies are the count_with_details jobs: their callback does not go to a dated measure.
    if job.callback_path or job.mode != "count_with_details":
        return job.callback_path
    return f"/cohort/feasibility-studies/{job.instance_id}/"


def _shown(descriptor: dict) -> str:
    status = descriptor.get("status")
    return "no status" if status is None else f"status {str(status)[:40]!r}"
