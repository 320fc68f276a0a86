"""An in-process export engine whose steps follow a script, to test the workflow without HTTP."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from exports.engine import ExportStepError, StorageError, StoredFile, register_export_engine


@dataclass
class ScriptedStep:
    name: str
    failure_prefix: str = ""
    # What `start` does: a task id to wait for, None (done at once), or an exception to raise.
    starts: str | Exception | None = None
    # What successive polls answer: a backend status, or an exception to raise.
    polls: list = field(default_factory=list)
    started: int = 0
    polled: list = field(default_factory=list)

    def start(self, export) -> str | None:
        self.started += 1
        if isinstance(self.starts, Exception):
            raise self.starts
        return self.starts

    def poll(self, task_id: str) -> str:
        self.polled.append(task_id)
        answer = self.polls.pop(0) if len(self.polls) > 1 else self.polls[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def ended_badly(self, task_id: str, status: str) -> str:
        return f"{self.name}: job `{task_id}` ended with status `{status}`"


@dataclass
class MemoryStorage:
    files: dict[str, bytes] = field(default_factory=dict)
    broken: set[str] = field(default_factory=set)  # paths whose deletion fails
    deleted: list[str] = field(default_factory=list)
    closes: int = 0  # calls of close(): the connections a real storage keeps

    def open(self, path: str) -> StoredFile:
        if path not in self.files:
            raise StorageError(f"File does not exist: {path}")
        return StoredFile(size=len(self.files[path]), chunks=iter([self.files[path]]))

    def delete(self, path: str) -> bool:
        if path in self.broken:
            raise StorageError(f"Could not delete {path}")
        if path not in self.files:
            return False
        del self.files[path]
        self.deleted.append(path)
        return True

    def close(self) -> None:
        self.closes += 1


@dataclass
class ScriptedEngine:
    script: list[ScriptedStep] = field(default_factory=list)
    files: MemoryStorage = field(default_factory=MemoryStorage)
    refuse: str = ""  # when set, `steps` refuses every export with this reason

    def steps(self, export) -> list[ScriptedStep]:
        if self.refuse:
            raise ExportStepError(self.refuse)
        return self.script

    def task_logs(self, task_id: str) -> dict:
        return {"task_status": "FinishedWithError", "stdout": "out", "stderr": "err"}

    def storage(self) -> MemoryStorage:
        return self.files


@contextlib.contextmanager
def engine_in_use(engine):
    from exports.engine import export_engine

    previous = export_engine()
    register_export_engine(engine)
    try:
        yield engine
    finally:
        register_export_engine(previous)
