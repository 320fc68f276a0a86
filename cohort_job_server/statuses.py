"""The QueryExecutor's status words (spec 03 §2.7) and the backend statuses they stand for (spec 02 §2.3)."""

from __future__ import annotations

from cohort.job_server import InvalidJobStatusError
from cohort.models import JobStatus

_BACKEND_STATUS = {
    "KILLED": JobStatus.CANCELLED,
    "FINISHED": JobStatus.FINISHED,
    "RUNNING": JobStatus.STARTED,
    "STARTED": JobStatus.STARTED,
    "ERROR": JobStatus.FAILED,
    "UNKNOWN": JobStatus.UNKNOWN,
    "PENDING": JobStatus.PENDING,
    "LONG_PENDING": JobStatus.LONG_PENDING,
}


def map_status(word: object) -> str:
    """Upper-cased first, as the reference does: `finished` is accepted, `failed` or `cancelled` are not."""
    status = _BACKEND_STATUS.get(word.upper()) if isinstance(word, str) else None
    if status is None:
        raise InvalidJobStatusError(f"Bad Request: Invalid job status: {word}")
    return status.value
