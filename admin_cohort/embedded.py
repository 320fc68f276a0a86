"""Embedded mode: API, websocket, task worker and scheduler in one process, on SQLite and in-memory transports.

The broker (`memory://`), the channel layer and the cache live in this process's memory, so the Celery worker
and beat must run here too: each in a thread, beside the ASGI server (uvicorn, as in production). Tasks stay
asynchronous, exactly as in production; only the transport differs.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TextIO

from celery import Celery
from celery.beat import EmbeddedService
from celery.worker import WorkController, state
from django.conf import settings
from django.core.management import call_command, get_commands
from django.core.management.base import CommandError
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from admin_cohort import web_server
from admin_cohort.env import BASE_DIR

DEMO_PERIMETERS = BASE_DIR / ".setup" / "perimeters.example.csv"
# Short, so that a task sent by a request starts at once rather than on the transport's 1 s poll.
BROKER_POLLING_SECONDS = 0.1
WORKER_READY_TIMEOUT = 30
ANNOUNCE_TIMEOUT = 60
CELERY_OVERRIDES = ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
STOP_TIMEOUT = 15
_LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class _ThreadWorker(WorkController):
    """A worker that says when it consumes: the server must not accept requests before."""

    def __init__(self, *args, **kwargs) -> None:
        self.ready = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer) -> None:
        self.ready.set()


@contextmanager
def worker_thread(app: Celery) -> Iterator[WorkController]:
    """A Celery worker consuming `app`'s broker from a thread of this process; warm shutdown on exit."""
    app.conf.update(
        worker_enable_remote_control=False,  # no other node to answer in a one-process deployment
        broker_transport_options={**app.conf.broker_transport_options, "polling_interval": BROKER_POLLING_SECONDS},
    )
    worker = _ThreadWorker(
        app=app,
        hostname=f"embedded@{socket.gethostname()}",
        pool="solo",
        concurrency=1,
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )

    def serve() -> None:
        app.set_current()  # for this thread only: the solo pool looks tasks up on the current app
        worker.start()

    thread = threading.Thread(target=serve, name="celery-worker", daemon=True)
    thread.start()
    if not worker.ready.wait(WORKER_READY_TIMEOUT):
        raise CommandError(f"the task worker did not start within {WORKER_READY_TIMEOUT} s")
    try:
        yield worker
    finally:
        # The worker's loop polls this flag between messages: a warm shutdown lets a running task finish.
        state.should_stop = 0
        thread.join(STOP_TIMEOUT)
        state.should_stop = None


@contextmanager
def beat_thread(app: Celery) -> Iterator[None]:
    """Celery beat from a thread; its schedule is kept in memory (a restart simply waits for the next tick)."""
    beat = EmbeddedService(app, thread=True, scheduler_cls="celery.beat:Scheduler")
    beat.start()
    try:
        yield
    finally:
        beat.service.stop(wait=False)
        beat.join(STOP_TIMEOUT)


def _show_logs(*logger_names: str) -> None:
    """Task and request activity on the console: this is the operator's only view of the worker and scheduler."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(_LOG_FORMAT))
    for name in logger_names:
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        logger.propagate = False


def _check_port_free(host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            raise CommandError(f"cannot listen on {host}:{port} ({error.strerror}): choose another --port") from None


def _migrate(stdout: TextIO) -> None:
    executor = MigrationExecutor(connections[DEFAULT_DB_ALIAS])
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        stdout.write(f"Database {settings.DATABASES['default']['NAME']}: applying {len(pending)} migrations…\n")
        call_command("migrate", interactive=False, verbosity=0, stdout=stdout)
    else:
        stdout.write(f"Database {settings.DATABASES['default']['NAME']}: up to date\n")


def _load_demo_data(stdout: TextIO) -> None:
    if "load_initial_data" not in get_commands():
        stdout.write("Demo data skipped: the accesses app is not in INCLUDED_APPS\n")
        return
    call_command("load_initial_data", perimeters_conf=DEMO_PERIMETERS, stdout=stdout)


def _announce_when_listening(host: str, port: int, stdout: TextIO) -> None:
    """The banner comes last, once the server answers, so that its URL can be opened at once."""

    def wait_then_write() -> None:
        deadline = time.monotonic() + ANNOUNCE_TIMEOUT
        while time.monotonic() < deadline:
            try:
                socket.create_connection((host, port), timeout=1).close()
            except OSError:
                time.sleep(0.05)
                continue
            stdout.write(_banner(host, port))
            stdout.flush()
            return

    threading.Thread(target=wait_then_write, name="announce", daemon=True).start()


def _interrupt(signum: int, frame) -> None:
    raise KeyboardInterrupt


def _public_url(host: str, port: int) -> str:
    shown = "localhost" if host in ("0.0.0.0", "::") else host
    return f"http://[{shown}]:{port}" if ":" in shown else f"http://{shown}:{port}"


def _banner(host: str, port: int) -> str:
    password = (
        settings.ADMIN_PASSWORD
        if settings.ADMIN_PASSWORD == settings.DEFAULT_ADMIN_PASSWORD
        else "(the value of ADMIN_PASSWORD)"
    )
    url = _public_url(host, port)
    return (
        "\n"
        "Cohort360 backend, embedded mode: SQLite, in-process task worker and scheduler, websocket at /ws/\n"
        f"Swagger UI: {url}/docs\n"
        f"Admin credentials: username {settings.ADMIN_USERNAME!r}, password {password} "
        "(POST /auth/login/ in the Swagger UI, then Authorize with the access token)\n"
        "Stop with CONTROL-C.\n\n"
    )


def run(*, host: str, port: int, stdout: TextIO) -> None:
    """Migrate, load the demo data, then serve until interrupted (SIGINT or SIGTERM)."""
    if not settings.EMBEDDED:
        raise CommandError(
            "run_embedded serves the embedded mode only, and DB_NAME is set (production mode). "
            "Unset DB_NAME, or run the production processes (see README.md)."
        )
    # Celery lets these variables override the configured transports, which must stay in this process.
    for name in CELERY_OVERRIDES:
        os.environ.pop(name, None)
    from admin_cohort.celery import app

    # Until uvicorn installs its own handlers, SIGTERM unwinds like CONTROL-C so that the threads are stopped.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        _check_port_free(host, port)
        _migrate(stdout)
        call_command("check", stdout=stdout)  # what a misconfiguration looks like, before serving
        _load_demo_data(stdout)
        stdout.flush()
        connections.close_all()
        # Loading the ASGI application runs django.setup() again, and its logging configuration resets the
        # handlers of every django.* logger: load it first, then add ours.
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from admin_cohort.asgi import application

        _show_logs("celery", "uvicorn.error", "uvicorn.access")
        with worker_thread(app), beat_thread(app):
            _announce_when_listening(host, port, stdout)
            # HTTP and websocket on one port; the static files (Swagger UI) served too, offline. uvicorn stops
            # on SIGINT and SIGTERM, then the worker and the beat are stopped.
            web_server.server(ASGIStaticFilesHandler(application), host=host, port=port, log_config=None).run()
    except KeyboardInterrupt:
        pass
    stdout.write("Stopped.\n")
