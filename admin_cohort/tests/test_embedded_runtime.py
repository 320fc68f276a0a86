"""The embedded mode's in-process worker and beat, on the in-memory broker the embedded mode uses."""

from __future__ import annotations

import queue
import threading
import uuid

import pytest
from celery import Celery
from django.core.management import call_command
from django.core.management.base import CommandError

from admin_cohort.embedded import beat_thread, worker_thread

RECEIVE_TIMEOUT = 15


@pytest.fixture
def memory_app(monkeypatch):
    """A Celery app of its own (not the project's, which the test-suite points at Redis)."""
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)  # Celery lets it override any configured broker
    app = Celery(f"embedded-{uuid.uuid4().hex[:8]}", broker="memory://", set_as_current=False, fixups=[])
    app.conf.update(task_default_queue=f"embedded-{uuid.uuid4().hex[:8]}", task_ignore_result=True)
    runs: queue.Queue = queue.Queue()

    @app.task(name="embedded_test.record", shared=False)  # not registered on the other apps of the process
    def record(value: str) -> None:
        runs.put((value, threading.current_thread().name))

    app.runs = runs
    app.record = record
    return app


def test_tasks_sent_by_other_threads_and_by_beat_run_asynchronously_in_the_worker_thread(memory_app):
    memory_app.conf.beat_schedule = {"tick": {"task": "embedded_test.record", "schedule": 1.0, "args": ("tick",)}}
    # One worker for both checks: its warm shutdown takes seconds.
    with worker_thread(memory_app), beat_thread(memory_app):
        memory_app.record.delay("from a request thread")
        runs = [memory_app.runs.get(timeout=RECEIVE_TIMEOUT) for _ in range(2)]
    assert sorted(runs) == [("from a request thread", "celery-worker"), ("tick", "celery-worker")]


def test_run_embedded_refuses_production_mode():
    # The test-suite runs with DB_NAME set, which is the production mode.
    with pytest.raises(CommandError, match="embedded mode only"):
        call_command("run_embedded", "--port", "0")
