"""The interface of an export engine (DESIGN.md §3): what the exports app asks of whoever runs exports.

An export runs as a list of steps (spec 02 §17). A step either completes when started (a synchronous call) or
starts a remote task, which the workflow (exports.services.workflow) then polls until it ends, without holding
a worker in between. `exporters` implements the engine for the Export API, the Hadoop API and WebHDFS and
registers it when installed; without it, every export fails at once with a clear reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from admin_cohort.http import RawBody
    from exports.models import Export


class ExportStepError(Exception):
    """A step could not be started or polled: the reason shown to the owner (without the step's prefix)."""


class RemoteTimeout(ExportStepError):  # noqa: N818
    """A remote service did not answer within the time allowed."""


class RemoteTaskUnreachable(ExportStepError):  # noqa: N818 (reads as "raise RemoteTaskUnreachable(...)")
    """One status request failed (network error, non-JSON answer): counted, the export fails after a few."""


class StorageError(Exception):
    """The storage holding the exported files failed; the message is safe to show to the owner."""


class StorageUnavailable(StorageError):  # noqa: N818
    """No storage provider answered."""


class ExportStep(Protocol):
    name: str
    # Prefixed to the reason when the step fails, e.g. "Error while preparing DB for export: ".
    failure_prefix: str

    def start(self, export: Export) -> str | None:
        """Starts the step: the id of the remote task to poll, or None when the step is already complete.

        Raises ExportStepError.
        """

    def poll(self, task_id: str) -> str:
        """The backend status (a JobStatus value, spec 02 §2.4) of the remote task; raises
        RemoteTaskUnreachable when the status could not be read."""

    def ended_badly(self, task_id: str, status: str) -> str:
        """The whole failure reason when the remote task ended in `status` (failed, cancelled, unknown), e.g.
        "Export terminated with an error: Job `<id>` ended with status `failed`" (not prefixed again)."""


@dataclass(frozen=True)
class StoredFile:
    size: int
    chunks: Iterator[bytes]  # closes the storage's connections once exhausted or closed
    # The content as the bytes on the storage's socket, to relay without reading them (admin_cohort.streaming),
    # instead of `chunks`; None when it does not arrive as is.
    raw_body: Callable[[], RawBody | None] = lambda: None


class Storage(Protocol):
    def open(self, path: str) -> StoredFile:
        """Streams a stored file; raises StorageError (FileNotFoundError-like errors included)."""

    def delete(self, path: str) -> bool:
        """Deletes a stored file: False when there was no such file; raises StorageError."""

    def close(self) -> None:
        """Closes the connections kept for the next calls (the storage stays usable)."""


class ExportEngine(Protocol):
    def steps(self, export: Export) -> list[ExportStep]:
        """The steps of this export, in order; raises ExportStepError when the export cannot run at all."""

    def task_logs(self, task_id: str) -> dict:
        """The Export API's status document of a task, logs included (admins' `logs/`), read while an administrator
        waits: raises RemoteTimeout after 30 s at most, ExportStepError."""

    def storage(self) -> Storage:
        """The storage of the CSV/XLSX archives; raises StorageUnavailable."""


_MISSING = "No export engine is installed (add exporters to INCLUDED_APPS)"


class _MissingEngine:
    def steps(self, export: Export) -> list[ExportStep]:
        raise ExportStepError(_MISSING)

    def task_logs(self, task_id: str) -> dict:
        raise ExportStepError(_MISSING)

    def storage(self) -> Storage:
        raise StorageUnavailable(_MISSING)


_state: dict[str, ExportEngine] = {"engine": _MissingEngine()}


def register_export_engine(engine: ExportEngine) -> None:
    _state["engine"] = engine


def export_engine() -> ExportEngine:
    return _state["engine"]
