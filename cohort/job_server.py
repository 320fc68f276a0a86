"""The interface of a job server (DESIGN.md §3): what the cohort app asks of whoever runs counts and cohorts.

`cohort_job_server` implements it for the QueryExecutor and registers it when installed. Without it, every
submission fails with a clear reason, so jobs never wait for a server that does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


class JobServerError(Exception):
    """A failure at the boundary with the job server: the job fails with this message as its reason."""


class InvalidJobStatusError(JobServerError):
    pass


@dataclass(frozen=True)
class AuthHeaders:
    """The end user's credentials, forwarded to the FHIR server that translates criteria."""

    authorization: str = ""
    authorization_method: str = ""
    trace_id: str = ""


@dataclass(frozen=True)
class JobRequest:
    mode: str  # count, count_all, count_with_details, create
    instance_id: str  # the uuid of the count, cohort or feasibility study called back
    owner: str
    serialized_query: str
    auth: AuthHeaders = field(default_factory=AuthHeaders)
    stage_details: str | None = None
    sampling_ratio: float | None = None
    callback_path: str | None = None
    # count_all and feasibility jobs run over the whole hospital: the root perimeter's cohort id.
    source_population: list[str] | None = None
    # The owner reads only pseudonymised data on (some of) the query's perimeters.
    pseudonymised: bool = False
    # A query already normalised and translated by `translate` (refresh schedules run without the user's
    # token): submitted as is, with this job's instance id.
    translated_query: str | None = None


@dataclass(frozen=True)
class SubmittedJob:
    job_id: str
    status: str  # a backend status (JobStatus value)


class JobServer(Protocol):
    def submit(self, job: JobRequest) -> SubmittedJob:
        """Raises JobServerError with a reason for the owner."""

    def cancel(self, job_id: str) -> str:
        """Returns the job's backend status after cancellation (cancelled or finished); raises JobServerError."""

    def map_status(self, status: object) -> str:
        """The backend status of a status word received in a callback; raises InvalidJobStatusError."""

    def translate(self, job: JobRequest) -> str:
        """The query as it would be submitted (normalised, criteria translated), for later `translated_query`
        submissions; raises JobServerError."""


class _MissingJobServer:
    def submit(self, job: JobRequest) -> SubmittedJob:
        raise JobServerError("No job server is installed (add cohort_job_server to INCLUDED_APPS)")

    def cancel(self, job_id: str) -> str:
        raise JobServerError("No job server is installed (add cohort_job_server to INCLUDED_APPS)")

    def map_status(self, status: object) -> str:
        raise InvalidJobStatusError(f"Bad Request: Invalid job status: {status}")

    def translate(self, job: JobRequest) -> str:
        raise JobServerError("No job server is installed (add cohort_job_server to INCLUDED_APPS)")


_state: dict[str, JobServer] = {"server": _MissingJobServer()}


def register_job_server(server: JobServer) -> None:
    _state["server"] = server


def job_server() -> JobServer:
    return _state["server"]
