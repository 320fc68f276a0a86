"""The QueryExecutor behind the cohort app's job-server interface (placeholder, being written)."""

from __future__ import annotations

from cohort.job_server import InvalidJobStatusError, JobRequest, JobServerError, SubmittedJob


class QueryExecutorJobServer:
    def submit(self, job: JobRequest) -> SubmittedJob:
        raise JobServerError("not implemented")

    def cancel(self, job_id: str) -> str:
        raise JobServerError("not implemented")

    def map_status(self, status: object) -> str:
        raise InvalidJobStatusError(f"Bad Request: Invalid job status: {status}")
