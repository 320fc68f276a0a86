"""Benchmark of the cohort app: the workspace lists, then counts end to end (prints figures, asserts nothing).

Run from the project root:  .venv/bin/python bench/cohort_workspace.py [--rate 50] [--duration 20] [--concurrency 4]

Creates a throw-away PostgreSQL database and role (c360_bench_<run>), always dropped at the end, seeds a
researcher's workspace (500 requests x 3 snapshots, each with a finished count, some with a cohort) among
other users', then:

1. times the workspace lists with the Django test client (response cache off) and counts their SQL queries;
2. deploys the production parts as separate processes (uvicorn for HTTP + websocket, a Celery worker on the
   run's Redis queue, a fake QueryExecutor on loopback), times the same lists through uvicorn, and drives
   counts open-loop: POST /cohort/dated-measures/ -> task -> QueryExecutor -> callback PATCH -> websocket
   `job_status` finished. A ramp of rising rates finds the highest one the deployment keeps up with, then
   the steady step holds the target rate.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import os
import queue
import random
import signal
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT_DIR))

# Inherited by the child processes (and by this script run as the fake QueryExecutor), so they share the run.
RUN_ID = os.environ.setdefault("COHORT_BENCH_RUN_ID", uuid.uuid4().hex[:8])
DB_NAME = f"c360_bench_{RUN_ID}"
# The processes of the run log in as a role of their own, limited in connections (CONNECTION LIMIT binds
# non-superusers only): the PostgreSQL server is shared with other runs, which must keep their connections.
DB_ROLE = DB_NAME
ADMIN_USER = os.environ.setdefault("COHORT_BENCH_ADMIN_USER", os.environ.get("DB_USER", "postgres"))

# Before Django reads its settings: tests.settings fills the rest with setdefault.
# COHORT_BENCH_SETTINGS: a module that star-imports tests.settings and changes a setting, to measure a
# configuration change without editing the project (it must be importable: PYTHONPATH).
os.environ["DJANGO_SETTINGS_MODULE"] = os.environ.get("COHORT_BENCH_SETTINGS", "tests.settings")
os.environ["DB_NAME"] = DB_NAME
os.environ["DB_USER"] = DB_ROLE
os.environ["TEST_RUN_ID"] = f"bench{RUN_ID}"
os.environ["ENABLE_CACHE"] = "false"  # we measure the computation, not the response cache
os.environ["DB_CONN_MAX_AGE"] = "600"  # the production default (tests.settings turns it off for its live server)
# accesses_perimeters only brings the OMOP sync task (and a second database): not needed here.
os.environ["INCLUDED_APPS"] = "accesses,content_management,cohort,cohort_job_server"
os.environ["SOCKET_LOGGER_ENABLED"] = "false"

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from _harness import (  # noqa: E402
    SLOW_P95_MS,
    BenchClient,
    Measure,
    admin_connection,
    create_database,
    drop_database,
    explain_slowest_query,
    measure,
    percentile,
    print_calibration,
)
from _processes import (  # noqa: E402
    VENV_BIN,
    Child,
    Deployment,
    child_environment,
    free_port,
    serve_for_parent,
    spawn_fake_server,
    start_web_server,
)
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models import F  # noqa: E402
from django.utils import timezone  # noqa: E402
from websockets.exceptions import ConnectionClosed  # noqa: E402

from accesses.services.perimeter_tree import rebuild_closure  # noqa: E402
from admin_cohort.auth import jwt_tokens  # noqa: E402
from admin_cohort.models import User  # noqa: E402
from admin_cohort.tests.websocket_client import authenticated_socket  # noqa: E402
from cohort.models import CohortResult, DatedMeasure, Folder, JobStatus, Request, RequestQuerySnapshot  # noqa: E402
from cohort.tests.builders import query_on  # noqa: E402
from tests.factories import PerimeterFactory, RoleFactory, UserFactory, grant  # noqa: E402
from tests.fakes.http_server import Reply  # noqa: E402
from tests.fakes.query_executor import Callback, FakeQueryExecutor, ReceivedJob  # noqa: E402

REQUESTS = 500  # the researcher's requests
SNAPSHOTS_PER_REQUEST = 3
FOLDERS = 5
COHORT_EVERY = 4  # one snapshot in 4 has a cohort
SAMPLE_EVERY = 10  # one cohort in 10 has a sample
HOSPITALS = 5
TARGET_P95_MS = 200.0
FINAL_FRAMES = {"finished", "failed", "cancelled"}
# The bench database takes at most this many of the server's connections (others may be running tests).
DB_CONNECTION_LIMIT = 40
MILESTONES = ("answered", "pending", "qe_accepted", "started", "callback_sent", "callback_answered", "finished")


# -------------------------------------------------------------------------------------------- seeding
@dataclass
class Workspace:
    researcher: User
    requests: list[tuple[str, str]]  # (request uuid, its latest snapshot uuid): what the counts run on
    endpoints: list[tuple[str, str]]  # (label, url)


def _criteria(rng: random.Random) -> list[dict]:
    """A few criteria, so that a stored query weighs what a real one does (~2 KB)."""
    resources = ("Condition", "Procedure", "MedicationRequest", "Observation", "Encounter")
    return [
        {
            "_id": index + 1,
            "_type": "basicResource",
            "isInclusive": True,
            "resourceType": resource,
            "filterFhir": f"code=http://terminology.hl7.org/CodeSystem/bench|{rng.randint(1000, 9999)}"
            f"&subject.active=true&date=ge2020-01-0{index + 1}",
            "occurrence": {"n": 1, "operator": ">="},
        }
        for index, resource in enumerate(resources)
    ]


def seed_workspace(owner: User, requests_count: int, cohort_ids: list[str], rng: random.Random) -> list:
    """Folders, requests, version chains of snapshots with a finished count each, cohorts and samples."""
    now = timezone.now()
    folders = [
        Folder(owner=owner, name=f"Study {index + 1}", created_at=now - timedelta(days=400 - index))
        for index in range(FOLDERS)
    ]
    requests_, snapshots, measures, cohorts = [], [], [], []
    for index in range(requests_count):
        created = now - timedelta(days=365) + timedelta(minutes=index * 1000 + rng.randint(0, 500))
        request = Request(
            owner=owner,
            name=f"Request {index + 1}",
            description="A benchmark request",
            parent_folder=folders[index % FOLDERS],
            favorite=index % 7 == 0,
            created_at=created,
        )
        requests_.append(request)
        previous = None
        cohort_id = cohort_ids[index % len(cohort_ids)]
        for version in range(1, SNAPSHOTS_PER_REQUEST + 1):
            at = created + timedelta(hours=version)
            snapshot = RequestQuerySnapshot(
                owner=owner,
                request=request,
                previous_snapshot=previous,
                serialized_query=query_on(cohort_id, criteria=_criteria(rng)),
                perimeters_ids=[cohort_id],
                version=version,
                created_at=at,
            )
            snapshots.append(snapshot)
            previous = snapshot
            measure = DatedMeasure(
                owner=owner,
                request_query_snapshot=snapshot,
                request_job_status=JobStatus.FINISHED,
                request_job_id=str(uuid.uuid4()),
                request_job_duration="0:00:04.512000",
                measure=rng.randint(10, 200_000),
                created_at=at + timedelta(minutes=1),
            )
            measures.append(measure)
            if len(snapshots) % COHORT_EVERY:
                continue
            cohort = CohortResult(
                owner=owner,
                name=f"Cohort {len(cohorts) + 1}",
                request_query_snapshot=snapshot,
                dated_measure=measure,
                request_job_status=JobStatus.FINISHED,
                request_job_id=str(uuid.uuid4()),
                group_id=str(rng.randint(10**8, 10**9)),
                created_at=at + timedelta(minutes=2),
            )
            cohorts.append(cohort)
            if len(cohorts) % SAMPLE_EVERY:
                continue
            sample_measure = DatedMeasure(
                owner=owner,
                request_query_snapshot=snapshot,
                request_job_status=JobStatus.FINISHED,
                measure=(measure.measure or 0) // 10,
                created_at=at + timedelta(minutes=3),
            )
            measures.append(sample_measure)
            cohorts.append(
                CohortResult(
                    owner=owner,
                    name=f"Sample of cohort {len(cohorts)}",
                    request_query_snapshot=snapshot,
                    dated_measure=sample_measure,
                    parent_cohort=cohort,
                    sampling_ratio=0.1,
                    request_job_status=JobStatus.FINISHED,
                    group_id=str(rng.randint(10**8, 10**9)),
                    created_at=at + timedelta(minutes=3),
                )
            )
    for model, rows in (
        (Folder, folders),
        (Request, requests_),
        (RequestQuerySnapshot, snapshots),
        (DatedMeasure, measures),
        (CohortResult, cohorts),
    ):
        model.objects.bulk_create(rows, batch_size=1000)
        # auto_now stamped every row with the present: a workspace edited over a year reads otherwise
        model.all_objects.filter(owner=owner).update(modified_at=F("created_at"))
    return [(str(r.uuid), str(snapshots[i * SNAPSHOTS_PER_REQUEST + 2].uuid)) for i, r in enumerate(requests_)]


def seed(rng: random.Random, other_users: int, other_requests: int) -> Workspace:
    UserFactory(username=settings.QUERY_EXECUTOR_USERNAME)
    UserFactory(username=settings.SOLR_ETL_USERNAME)
    root = PerimeterFactory(id=1, cohort_id="100", level=1)
    hospitals = [PerimeterFactory(id=2 + i, cohort_id=str(101 + i), parent=root, level=2) for i in range(HOSPITALS)]
    rebuild_closure()
    researcher = UserFactory(username="4000001", firstname="Alice", lastname="MARTIN")
    grant(researcher, RoleFactory(right_read_patient_nominative=True), root)
    cohort_ids = [hospital.cohort_id for hospital in hospitals]
    targets = seed_workspace(researcher, REQUESTS, cohort_ids, rng)
    for index in range(other_users):
        other = UserFactory(username=f"{4_200_000 + index}")
        seed_workspace(other, other_requests, cohort_ids, rng)
    request_id = rng.choice(targets)[0]
    endpoints = [
        ("requests (limit 20)", "/cohort/requests/?limit=20&ordering=-modified_at"),
        ("snapshots of a request", f"/cohort/request-query-snapshots/?request_id={request_id}"),
        ("requests (web app, 100)", "/cohort/requests/?limit=100&ordering=-updated_at"),
        ("cohorts", "/cohort/cohorts/?is_sample=false&limit=20&ordering=-created_at"),
        ("folders", "/cohort/folders/?ordering=-created_at&limit=100"),
    ]
    return Workspace(researcher, targets, endpoints)


# ------------------------------------------------------------------------------- the fake QueryExecutor
class TimedQueryExecutor(FakeQueryExecutor):
    """The fake QueryExecutor, noting when each job arrived and when its callback was sent and answered.

    `GET /bench/timings` answers `{cohort uuid: {qe_accepted, callback_sent, callback_answered, status}}`
    (wall-clock seconds, comparable with the benchmark's own).
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.timings: dict[str, dict] = {}
        self._timings_lock = threading.Lock()
        self.route("GET", "/bench/timings", self._answer_timings)

    def _note(self, job: ReceivedJob, **values) -> None:
        with self._timings_lock:
            self.timings.setdefault(str(job.cohort_uuid), {}).update(values)

    def _schedule(self, job: ReceivedJob, scenario=None) -> None:
        self._note(job, qe_accepted=time.time())
        super()._schedule(job, scenario)

    def deliver(self, callback: Callback) -> int | None:
        sent = time.time()
        status = super().deliver(callback)
        self._note(callback.job, callback_sent=sent, callback_answered=time.time(), status=status)
        return status

    def _answer_timings(self, request) -> Reply:
        with self._timings_lock:
            return Reply(json=dict(self.timings))


def serve_fake_query_executor(callback_base_url: str) -> int:
    return serve_for_parent(
        TimedQueryExecutor(callback_base_url=callback_base_url, token=settings.QUERY_EXECUTOR_TOKEN)
    )


@dataclass
class Stack:
    deployment: Deployment
    host_port: str  # uvicorn, as host:port
    qe_url: str
    worker: Child | None = None


def start_stack(deployment: Deployment, web_processes: int) -> Stack:
    host_port = f"127.0.0.1:{free_port()}"
    qe_url = spawn_fake_server(
        deployment, "fake-query-executor", [__file__, "--serve-fake-query-executor", f"http://{host_port}"]
    )
    deployment.env["QUERY_EXECUTOR_URL"] = qe_url
    start_web_server(deployment, int(host_port.rsplit(":", 1)[1]), web_processes)
    return Stack(deployment, host_port, qe_url)


def start_worker(stack: Stack, *, pool: str, concurrency: int, prefetch: int) -> Child:
    worker = stack.deployment.spawn(
        f"worker-{pool}-{concurrency}",
        [
            str(VENV_BIN / "celery"),
            "-A",
            "admin_cohort",
            "worker",
            "-Q",
            settings.CELERY_TASK_DEFAULT_QUEUE,
            "-P",
            pool,
            "-c",
            str(concurrency),
            "--prefetch-multiplier",
            str(prefetch),
            "-n",
            f"bench-{RUN_ID}-{concurrency}@%h",
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "INFO",
        ],
    )
    stack.deployment.wait_for_log(worker, " ready.")
    stack.worker = worker
    return worker


class ConnectionGauge:
    """Samples the number of PostgreSQL connections to the bench database (the most seen since `reset`)."""

    def __init__(self) -> None:
        self.most = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="connection-gauge", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        with admin_connection(ADMIN_USER) as admin:
            while not self._stop.wait(0.25):
                row = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [DB_NAME]).fetchone()
                self.most = max(self.most, row[0])

    def reset(self) -> int:
        most, self.most = self.most, 0
        return most

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


_TICK = os.sysconf("SC_CLK_TCK")


def _processes():
    """(pid, command name, process group, own CPU seconds, CPU seconds of its reaped children) of every process."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text[text.rindex(")") + 2 :].split()
        own = (int(fields[11]) + int(fields[12])) / _TICK
        reaped = (int(fields[13]) + int(fields[14])) / _TICK
        yield int(entry.name), name, int(fields[2]), own, reaped


def _machine_busy_seconds() -> float:
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / _TICK


class RunBackends:
    """CPU seconds of the PostgreSQL sessions of this run (their process title names the run's role and database).

    PostgreSQL as a whole also counts the sessions of other runs on the shared server. A session is sampled every
    0.1 s, so this misses the last moments of each session and sessions shorter than that: a lower bound when
    connections are short-lived, close to exact with persistent or pooled ones.
    """

    def __init__(self) -> None:
        self._title = f" {DB_ROLE} {DB_NAME} ".encode()
        self._seen: dict[int, float] = {}  # pid -> CPU seconds when last sampled
        self._base: dict[int, float] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="run-backends", daemon=True)
        self._thread.start()

    def _poll(self) -> None:
        while not self._stop.wait(0.1):
            for pid, name, _group, own, _reaped in _processes():
                if name != "postgres":
                    continue
                try:
                    title = Path(f"/proc/{pid}/cmdline").read_bytes()
                except OSError:
                    continue
                if self._title in title:
                    with self._lock:
                        self._seen[pid] = own

    def reset(self) -> None:
        with self._lock:
            self._base = dict(self._seen)

    def used(self) -> float:
        with self._lock:
            return sum(seconds - self._base.get(pid, 0.0) for pid, seconds in self._seen.items())

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


class CpuMeter:
    """CPU seconds used by each part of the deployment between `start` and `stop`.

    A child counts with its whole process group (a prefork worker and its pool); PostgreSQL and Redis count
    all their processes, other runs' included (`postgresql (run)`: only this run's sessions, see RunBackends);
    `machine` is everything, kernel included.
    """

    def __init__(self, deployment: Deployment, backends: RunBackends) -> None:
        self.deployment = deployment
        self.backends = backends
        self._started: dict[str, float] = {}
        self._at = 0.0

    def _sample(self) -> dict[str, float]:
        groups = {child.process.pid: child.name for child in self.deployment.children}
        used = {name: 0.0 for name in [*groups.values(), "benchmark client", "postgresql", "redis"]}
        for pid, name, group, own, reaped in _processes():
            if group in groups:
                used[groups[group]] += own + reaped
            elif pid == os.getpid():
                used["benchmark client"] += own
            elif name == "postgres":
                used["postgresql"] += own + reaped  # the postmaster's reaped children are the closed sessions
            elif name == "redis-server":
                used["redis"] += own
        used["machine"] = _machine_busy_seconds()
        return used

    def start(self) -> None:
        self.backends.reset()
        self._started, self._at = self._sample(), time.monotonic()

    def stop(self) -> tuple[dict[str, float], float]:
        """CPU seconds used by each part since `start`, and the seconds elapsed."""
        ended, elapsed = self._sample(), time.monotonic() - self._at
        used = {name: ended[name] - self._started.get(name, 0.0) for name in ended}
        used["postgresql (run)"] = self.backends.used()
        return used, elapsed


def purge_queue() -> int:
    """Drops the tasks still waiting in the run's Celery queue; returns how many there were."""
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        name = settings.CELERY_TASK_DEFAULT_QUEUE
        waiting = client.llen(name)
        if waiting:
            client.delete(name)
        return waiting
    finally:
        client.close()


def forget_redis_keys() -> int:
    """The run's queue, bindings and channel-layer keys: all carry the run id."""
    import redis

    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    try:
        keys = list(client.scan_iter(match=f"*bench{RUN_ID}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


# ----------------------------------------------------------------------------------- the load client
class Frames:
    """Reads the researcher's websocket in a thread; notes when each job's status frames arrive."""

    def __init__(self, host_port: str, username: str) -> None:
        self._opened = authenticated_socket(host_port, username)
        self._socket = self._opened.__enter__()
        self.seen: dict[str, dict[str, float]] = {}
        self.finals = 0
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, name="websocket-reader", daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                raw = self._socket.recv(timeout=0.2)
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
            at = time.time()
            frame = json.loads(raw)
            if frame.get("type") != "job_status" or frame.get("job_name") != "count":
                continue
            with self._changed:
                statuses = self.seen.setdefault(frame["uuid"], {})
                statuses.setdefault(frame["status"], at)
                if frame["status"] in FINAL_FRAMES and len(FINAL_FRAMES & statuses.keys()) == 1:
                    self.finals += 1
                    self._changed.notify_all()

    def final_of(self, job_uuid: str) -> tuple[str, float] | None:
        with self._changed:
            statuses = self.seen.get(job_uuid, {})
            for status in FINAL_FRAMES:
                if status in statuses:
                    return status, statuses[status]
        return None

    def wait_for(self, uuids: list[str], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._changed:
            while any(not FINAL_FRAMES & self.seen.get(u, {}).keys() for u in uuids):
                left = deadline - time.monotonic()
                if left <= 0:
                    return
                self._changed.wait(min(left, 0.5))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._opened.__exit__(None, None, None)


@dataclass
class Sent:
    scheduled: float  # when the open-loop schedule meant to send it (wall clock)
    sent: float = 0.0
    answered: float = 0.0
    status: int = 0
    uuid: str = ""
    error: str = ""


class OpenLoop:
    """Sends POST /cohort/dated-measures/ at a fixed rate whatever the answers, from a pool of sender threads."""

    def __init__(self, base_url: str, username: str, targets: list[tuple[str, str]], senders: int) -> None:
        self.base_url = base_url
        self.username = username
        self.targets = targets
        self.next_target = 0
        self.senders = senders

    def run(self, rate: float, duration: float) -> list[Sent]:
        token = jwt_tokens.issue_pair(self.username).access_token  # fresh for each step (5 minutes)
        headers = {"Authorization": f"Bearer {token}", "AuthorizationMethod": "JWT"}
        total = max(int(rate * duration), 1)
        work: queue.Queue = queue.Queue()
        results: list[Sent] = []
        threads = [
            threading.Thread(target=self._send_all, args=(work, headers, results), daemon=True)
            for _ in range(self.senders)
        ]
        for thread in threads:
            thread.start()
        start = time.time() + 0.05
        for index in range(total):
            scheduled = start + index / rate
            delay = scheduled - time.time()
            if delay > 0:
                time.sleep(delay)
            request_id, snapshot_id = self.targets[self.next_target % len(self.targets)]
            self.next_target += 1
            work.put((Sent(scheduled), {"request_query_snapshot_id": snapshot_id, "request_id": request_id}))
        for _ in threads:
            work.put(None)
        for thread in threads:
            thread.join()
        return sorted(results, key=lambda sent: sent.scheduled)

    def _send_all(self, work: queue.Queue, headers: dict, results: list[Sent]) -> None:
        with requests.Session() as session:
            session.trust_env = False  # no proxy between us and loopback
            while (item := work.get()) is not None:
                sent, body = item
                sent.sent = time.time()
                try:
                    response = session.post(
                        f"{self.base_url}/cohort/dated-measures/", json=body, headers=headers, timeout=30
                    )
                    sent.answered, sent.status = time.time(), response.status_code
                    if response.status_code == 201:
                        sent.uuid = response.json()["uuid"]
                    else:
                        sent.error = response.text[:200]
                except requests.RequestException as error:
                    sent.answered, sent.error = time.time(), f"{type(error).__name__}: {error}"
                results.append(sent)


@dataclass
class Step:
    label: str
    rate: float
    duration: float
    sent: list[Sent]
    outcomes: dict[str, int]
    latencies_ms: list[float]  # scheduled send -> finished frame, finished counts only
    throughput: float  # finished counts per second, first send -> last finished frame
    max_send_lag_ms: float
    connections: int = 0  # the most PostgreSQL connections to the bench database seen during the step
    cpu_seconds: dict[str, float] = field(default_factory=dict)  # used by each part, during the step and drain
    elapsed: float = 0.0  # seconds of the step and its drain

    def cores(self, part: str) -> float:
        return self.cpu_seconds.get(part, 0.0) / self.elapsed if self.elapsed else float("nan")

    milestones: dict[str, list[float]] = field(default_factory=dict)  # milestone -> ms after the send

    def p(self, fraction: float) -> float:
        return percentile(self.latencies_ms, fraction)

    @property
    def kept_up(self) -> bool:
        finished = self.outcomes.get("finished", 0)
        return finished >= 0.99 * len(self.sent) and self.throughput >= 0.95 * self.rate

    def line(self) -> str:
        outcomes = ", ".join(f"{name} {count}" for name, count in sorted(self.outcomes.items()))
        return (
            f"{self.label:<10} offered {self.rate:5.0f}/s x {self.duration:4.0f} s  "
            f"throughput {self.throughput:6.1f}/s  p50 {self.p(0.50):7.1f}  p95 {self.p(0.95):7.1f}  "
            f"p99 {self.p(0.99):7.1f}  max {max(self.latencies_ms, default=float('nan')):7.1f} ms  "
            f"send lag max {self.max_send_lag_ms:5.1f} ms  PG connections {self.connections}  [{outcomes}]"
        )


def run_step(
    label: str, loop: OpenLoop, frames: Frames, qe_url: str, rate: float, duration: float, drain: float
) -> Step:
    sent = loop.run(rate, duration)
    accepted = [s for s in sent if s.uuid]
    frames.wait_for([s.uuid for s in accepted], timeout=drain)
    outcomes: dict[str, int] = {}
    latencies, ends = [], []
    for item in sent:
        final = frames.final_of(item.uuid) if item.uuid else None
        outcome = final[0] if final else (f"HTTP {item.status}" if item.status != 201 else "no final frame")
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if final and final[0] == "finished":
            latencies.append((final[1] - item.scheduled) * 1000)
            ends.append(final[1])
    span = (max(ends) - sent[0].scheduled) if ends else float("nan")
    step = Step(
        label=label,
        rate=rate,
        duration=duration,
        sent=sent,
        outcomes=outcomes,
        latencies_ms=latencies,
        throughput=len(ends) / span if ends else 0.0,
        max_send_lag_ms=max((s.sent - s.scheduled) * 1000 for s in sent),
    )
    step.milestones = milestones(accepted, frames, qe_url)
    return step


def milestones(accepted: list[Sent], frames: Frames, qe_url: str) -> dict[str, list[float]]:
    """When each stage of a count was reached, in ms after its POST was sent (where the time goes)."""
    try:
        timings = requests.get(f"{qe_url}/bench/timings", timeout=10).json()
    except (requests.RequestException, ValueError):
        timings = {}
    reached: dict[str, list[float]] = {name: [] for name in MILESTONES}
    for item in accepted:
        seen = frames.seen.get(item.uuid, {})
        at = {"answered": item.answered, **seen, **timings.get(item.uuid, {})}
        if "finished" not in seen:
            continue
        for name in MILESTONES:
            if isinstance(at.get(name), float):
                reached[name].append((at[name] - item.sent) * 1000)
    return reached


def print_milestones(step: Step) -> None:
    print(f"    where the time goes ({step.label}: ms after the POST was sent, finished counts):", flush=True)
    labels = {
        "answered": "POST answered (201)",
        "pending": "`pending` frame (task claimed)",
        "qe_accepted": "job received by the QE",
        "started": "`started` frame (job recorded)",
        "callback_sent": "callback PATCH sent",
        "callback_answered": "callback PATCH answered",
        "finished": "`finished` frame received",
    }
    for name in MILESTONES:
        values = step.milestones.get(name, [])
        print(
            f"      {labels[name]:<34} p50 {percentile(values, 0.5):7.1f}  p95 {percentile(values, 0.95):7.1f}  "
            f"p99 {percentile(values, 0.99):7.1f}   (n={len(values)})",
            flush=True,
        )
    finished = step.outcomes.get("finished", 0)
    if finished:
        # What one count costs, whatever the latency: the machine's 2 cores divided by this is the ceiling.
        print(
            "    CPU per finished count (ms): "
            + ", ".join(f"{part} {seconds / finished * 1000:.1f}" for part, seconds in step.cpu_seconds.items()),
            flush=True,
        )
        # The load client and the fake QueryExecutor share the cores here; in production they run elsewhere.
        backend = sum(
            seconds
            for part, seconds in step.cpu_seconds.items()
            if part in ("web", "postgresql", "redis") or part.startswith("worker-")
        )
        harness = sum(step.cpu_seconds.get(part, 0.0) for part in ("benchmark client", "fake-query-executor"))
        cores = os.cpu_count() or 1
        print(
            f"    the backend alone (web, worker, PostgreSQL, Redis): {backend / finished * 1000:.1f} ms per count, "
            f"at most {cores * finished / backend:.0f} counts/s on {cores} cores; the harness (client, fake QE): "
            f"{harness / finished * 1000:.1f} ms",
            flush=True,
        )


def http_lists(host_port: str, workspace: Workspace, requests_per_endpoint: int) -> list[tuple[str, float, float]]:
    """The workspace lists through uvicorn: what the web app waits for, server and HTTP included."""
    token = jwt_tokens.issue_pair(workspace.researcher.username).access_token
    headers = {"Authorization": f"Bearer {token}", "AuthorizationMethod": "JWT"}
    rows = []
    with requests.Session() as session:
        session.trust_env = False
        for label, url in workspace.endpoints:
            timings, statuses = [], set()
            for index in range(requests_per_endpoint + 5):
                started = time.perf_counter()
                response = session.get(f"http://{host_port}{url}", headers=headers, timeout=30)
                if index >= 5:  # the first ones warm the connection and the process up
                    timings.append((time.perf_counter() - started) * 1000)
                statuses.add(response.status_code)
            rows.append((label, percentile(timings, 0.5), percentile(timings, 0.95)))
            print(
                f"  {label:<24} statuses={sorted(statuses)} p50={rows[-1][1]:7.1f} ms  p95={rows[-1][2]:7.1f} ms",
                flush=True,
            )
    return rows


# ------------------------------------------------------------------------------------------------ main
def run_lists(workspace: Workspace, options) -> list[Measure]:
    print(
        f"\n=== 1. Workspace lists ({options.requests} requests per endpoint after {options.warmup} warm-up, "
        "in process) ===",
        flush=True,
    )
    client = BenchClient(workspace.researcher)
    results = []
    for label, url in workspace.endpoints:
        result = measure(client, label, url, requests=options.requests, warmup=options.warmup)
        results.append(result)
        print(f"  {result.line()}", flush=True)
        if result.p95 > SLOW_P95_MS and options.explain:
            explain_slowest_query(result)
    return results


@dataclass
class FlowReport:
    config: str
    steady: Step
    ramp: list[Step]


def run_count_flow(stack: Stack, workspace: Workspace, options, config: str) -> FlowReport:
    """A warm-up, a ramp of rising rates up to the first one not kept up with, then the steady rate."""
    print(f"\n=== 2. Counts end to end ({config}) ===", flush=True)
    frames = Frames(stack.host_port, workspace.researcher.username)
    gauge = ConnectionGauge()
    backends = RunBackends()
    meter = CpuMeter(stack.deployment, backends)
    loop = OpenLoop(f"http://{stack.host_port}", workspace.researcher.username, workspace.requests, options.senders)

    def step(label: str, rate: float, duration: float, drain: float = options.drain) -> Step:
        stack.deployment.check()
        gauge.reset()
        meter.start()
        result = run_step(label, loop, frames, stack.qe_url, rate, duration, drain)
        result.cpu_seconds, result.elapsed = meter.stop()
        result.connections = gauge.reset()
        print(f"  {result.line()}", flush=True)
        print(
            "    CPU (cores): " + ", ".join(f"{part} {result.cores(part):.2f}" for part in result.cpu_seconds),
            flush=True,
        )
        if purge_queue():  # a step not kept up with must not slow the next one down
            print("    (tasks still queued after the drain were purged)", flush=True)
        return result

    try:
        step("warm-up", 10, 2, drain=30)
        ramp = []
        for rate in options.ramp:
            ramp.append(step(f"ramp {rate:g}", rate, options.ramp_duration))
            if not ramp[-1].kept_up:
                print_milestones(ramp[-1])
                break
        steady = step("steady", options.rate, options.duration)
        print_milestones(steady)
        stack.deployment.check()
    finally:
        gauge.close()
        backends.close()
        frames.close()
    return FlowReport(config, steady, ramp)


def print_summary(lists: list[Measure], http_rows: list[tuple[str, float, float]], flows: list[FlowReport]) -> None:
    print("\n=== Summary ===")
    http = {label: (p50, p95) for label, p50, p95 in http_rows}
    header = f"{'endpoint':<26} {'items':>9} {'queries':>7} {'p50 ms':>8} {'p95 ms':>8} {'HTTP p50':>9} {'HTTP p95':>9}"
    print(header)
    print("-" * len(header))
    for row in lists:
        via = http.get(row.label, (float("nan"), float("nan")))
        note = "  SLOW (p95 > 50 ms)" if row.p95 > SLOW_P95_MS else ""
        print(
            f"{row.label:<26} {row.items:>9} {row.queries:>7} {row.p50:8.1f} {row.p95:8.1f} "
            f"{via[0]:9.1f} {via[1]:9.1f}{note}"
        )
    for flow in flows:
        print(f"\ncounts, {flow.config}:")
        header = (
            f"  {'step':<10} {'offered/s':>9} {'finished/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
            f"{'kept up':>7} {'CPU cores':>9}  outcomes"
        )
        print(header)
        print("  " + "-" * (len(header) - 2))
        for step in [*flow.ramp, flow.steady]:
            outcomes = ", ".join(f"{name} {count}" for name, count in sorted(step.outcomes.items()))
            kept_up = "yes" if step.kept_up else "no"
            print(
                f"  {step.label:<10} {step.rate:9g} {step.throughput:10.1f} {step.p(0.5):8.0f} {step.p(0.95):8.0f} "
                f"{step.p(0.99):8.0f} {kept_up:>7} {step.cores('machine'):9.2f}  {outcomes}"
            )
        kept = [step for step in [*flow.ramp, flow.steady] if step.kept_up]
        within = [step for step in kept if step.p(0.95) <= TARGET_P95_MS]
        steady = flow.steady
        met = steady.kept_up and steady.p(0.95) <= TARGET_P95_MS and steady.rate >= 50
        print(
            f"  highest rate kept up with: {max((s.rate for s in kept), default=0):g}/s "
            f"({max((s.rate for s in within), default=0):g}/s with p95 <= {TARGET_P95_MS:.0f} ms); "
            f"target (>= 50/s with p95 < {TARGET_P95_MS:.0f} ms): {'met' if met else 'MISSED'}"
        )


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per list endpoint")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per list endpoint first")
    parser.add_argument("--other-users", type=int, default=20, help="other researchers with a workspace")
    parser.add_argument("--other-requests", type=int, default=100, help="requests of each other researcher")
    parser.add_argument("--seed", type=int, default=360, help="seed of the random data")
    parser.add_argument(
        "--no-explain", dest="explain", action="store_false", help="no EXPLAIN ANALYZE for slow endpoints"
    )
    parser.add_argument("--no-flow", dest="flow", action="store_false", help="only the workspace lists")
    parser.add_argument("--rate", type=float, default=50, help="offered counts per second (steady step)")
    parser.add_argument("--duration", type=float, default=20, help="seconds of the steady step")
    parser.add_argument(
        "--ramp",
        type=lambda text: [float(x) for x in text.split(",") if x],
        default=[10, 20, 35, 50, 75, 100, 150],
        help="rising rates tried before the steady step, up to the first one not kept up with (comma-separated)",
    )
    parser.add_argument("--ramp-duration", type=float, default=6, help="seconds of each ramp step")
    parser.add_argument("--drain", type=float, default=10, help="seconds to wait for the last counts of a step")
    parser.add_argument("--senders", type=int, default=100, help="sender threads of the load client")
    parser.add_argument("--pool", default="prefork", help="Celery worker pool (prefork, threads, solo)")
    parser.add_argument(
        "--concurrency",
        type=lambda text: [int(x) for x in text.split(",")],
        default=[4],
        help="Celery worker concurrency; a comma-separated list runs the count flow once per value",
    )
    parser.add_argument("--prefetch", type=int, default=1, help="Celery --prefetch-multiplier")
    parser.add_argument("--web-processes", type=int, default=2, help="web processes sharing the port (one per core)")
    parser.add_argument(
        "--http-requests", type=int, default=30, help="timed requests per list endpoint through uvicorn (0: none)"
    )
    parser.add_argument("--keep-logs", action="store_true", help="keep the child processes' logs (path printed)")
    parser.add_argument("--serve-fake-query-executor", metavar="CALLBACK_URL", help=argparse.SUPPRESS)
    return parser.parse_args()


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    options = parse_arguments()
    if options.serve_fake_query_executor:
        return serve_fake_query_executor(options.serve_fake_query_executor)
    signal.signal(signal.SIGTERM, _interrupted)  # cleaned up like a CONTROL-C
    started = time.monotonic()
    logs = Path(tempfile.mkdtemp(prefix=f"c360_bench_{RUN_ID}_"))
    deployment = Deployment(logs, child_environment())
    created = False
    failed = True
    try:
        with admin_connection(ADMIN_USER) as admin:
            admin.execute(f'CREATE ROLE "{DB_ROLE}" LOGIN CONNECTION LIMIT {DB_CONNECTION_LIMIT}')
        created = True
        create_database(DB_NAME, admin_user=ADMIN_USER, owner=DB_ROLE)
        print(f"database {DB_NAME}, Redis prefix test-bench{RUN_ID}, logs in {logs}", flush=True)
        print_calibration("at the start")
        call_command("migrate", verbosity=0, interactive=False)
        seeding = time.monotonic()
        workspace = seed(random.Random(options.seed), options.other_users, options.other_requests)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # as autovacuum would, soon after the rows arrive
        # The seeding's objects live to the end: out of the collector's scans, as the web process does with what
        # it loads, so that the in-process timings measure the request and not this process's own heap.
        gc.collect()
        gc.freeze()
        print(
            f"seeded in {time.monotonic() - seeding:.1f} s: {Request.objects.count()} requests, "
            f"{RequestQuerySnapshot.objects.count()} snapshots, {DatedMeasure.objects.count()} counts, "
            f"{CohortResult.objects.count()} cohorts, {User.objects.count()} users; the researcher owns "
            f"{Request.objects.filter(owner=workspace.researcher).count()} requests",
            flush=True,
        )
        lists = run_lists(workspace, options)
        flows, http_rows = [], []
        if options.flow:
            stack = start_stack(deployment, options.web_processes)
            if options.http_requests:
                print(
                    f"\n=== 1b. The same lists through uvicorn ({options.http_requests} requests per endpoint, "
                    "by HTTP) ===",
                    flush=True,
                )
                http_rows = http_lists(stack.host_port, workspace, options.http_requests)
            for concurrency in options.concurrency:
                worker = start_worker(stack, pool=options.pool, concurrency=concurrency, prefetch=options.prefetch)
                config = (
                    f"{options.web_processes} uvicorn, Celery -P {options.pool} -c {concurrency} "
                    f"--prefetch-multiplier {options.prefetch}"
                )
                flows.append(run_count_flow(stack, workspace, options, config))
                deployment.stop_child(worker)
        print_summary(lists, http_rows, flows)
        print_calibration("at the end")
        failed = False
    finally:
        deployment.stop()
        if created:
            try:
                drop_database(DB_NAME, admin_user=ADMIN_USER)
                with admin_connection(ADMIN_USER) as admin:
                    admin.execute(f'DROP ROLE IF EXISTS "{DB_ROLE}"')
                print(f"\ndropped database and role {DB_NAME}", file=sys.stderr)
            except Exception as error:
                print(f"could not drop database or role {DB_NAME}: {error}", file=sys.stderr)
        with contextlib.suppress(Exception):
            forget_redis_keys()
        if failed or options.keep_logs:
            print(f"child process logs kept in {logs}", file=sys.stderr)
        else:
            for log in logs.iterdir():
                log.unlink()
            logs.rmdir()
        print(f"total time {time.monotonic() - started:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # everything was stopped and dropped on the way out
        print("interrupted", file=sys.stderr)
        sys.exit(130)
