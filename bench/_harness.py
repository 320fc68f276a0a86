"""Pieces shared by the benchmarks: throw-away databases, a JWT client, timings with percentiles.

Import it after `django.setup()` (each benchmark sets its environment first): it uses the settings.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg
from django.conf import settings
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from admin_cohort.auth import jwt_tokens
from admin_cohort.models import User

SLOW_P95_MS = 50.0
TOKEN_MAX_AGE_S = 120  # access tokens live 5 minutes: renewed well before


# ------------------------------------------------------------------------------------------ machine speed
def calibration_ms() -> float:
    """Milliseconds one core takes for a fixed pure-Python workload (best of three).

    These machines share their host: the same code measured hours apart has cost from 36 to 60 ms of CPU per
    count. Printed beside the figures, this tells a slower machine from slower code.
    """

    def workload() -> None:
        table = {}
        for number in range(200_000):
            table[number % 997] = json.dumps([number, str(number)])

    best = math.inf
    for _ in range(3):
        started = time.process_time()
        workload()
        best = min(best, time.process_time() - started)
    return best * 1000


def print_calibration(moment: str) -> None:
    print(f"machine speed ({moment}): a fixed pure-Python workload took {calibration_ms():.0f} ms", flush=True)


# ------------------------------------------------------------------------------------------- databases
def admin_connection(user: str | None = None) -> psycopg.Connection:
    """An autocommit connection to the `postgres` database, as `user` (default: the settings' user)."""
    db = settings.DATABASES["default"]
    return psycopg.connect(
        host=db["HOST"],
        port=db["PORT"] or 5432,
        user=user or db["USER"],
        password=db["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )


def create_database(name: str, *, admin_user: str | None = None, owner: str | None = None) -> None:
    with admin_connection(admin_user) as admin:
        admin.execute(f'CREATE DATABASE "{name}"' + (f' OWNER "{owner}"' if owner else ""))


def drop_database(name: str, *, admin_user: str | None = None) -> None:
    connections.close_all()
    with admin_connection(admin_user) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def use_database(name: str) -> None:
    """Points the default connection at another database (the next query reconnects)."""
    connections.close_all()
    connection.settings_dict["NAME"] = name


# -------------------------------------------------------------------------------------------- measuring
def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile (`fraction` in 0..1); NaN without values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(math.ceil(fraction * len(ordered)) - 1, 0)]


class BenchClient(APIClient):
    """Speaks like the front-ends (JWT bearer + AuthorizationMethod); renews its token before it expires."""

    def __init__(self, user: User) -> None:
        super().__init__(HTTP_HOST="localhost")  # "testserver" is not in ALLOWED_HOSTS
        self.user = user
        self.issued_at = 0.0

    def fresh(self) -> BenchClient:
        if time.monotonic() - self.issued_at > TOKEN_MAX_AGE_S:
            pair = jwt_tokens.issue_pair(self.user.username)
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access_token}", HTTP_AUTHORIZATIONMETHOD="JWT")
            self.issued_at = time.monotonic()
        return self


@dataclass
class Measure:
    label: str
    url: str
    status: int
    items: str
    queries: int
    timings_ms: list[float]
    captured: list[dict] = field(default_factory=list)  # the SQL of one request, with its duration

    def percentile(self, fraction: float) -> float:
        return percentile(self.timings_ms, fraction)

    @property
    def p50(self) -> float:
        return self.percentile(0.50)

    @property
    def p95(self) -> float:
        return self.percentile(0.95)

    @property
    def max(self) -> float:
        return max(self.timings_ms) if self.timings_ms else math.nan

    def line(self, width: int = 24) -> str:
        flag = "  SLOW" if self.p95 > SLOW_P95_MS else ""
        return (
            f"{self.label:<{width}} status={self.status} items={self.items:<9} queries={self.queries:<3} "
            f"p50={self.p50:7.1f} ms  p95={self.p95:7.1f} ms  max={self.max:7.1f} ms{flag}"
        )


def items_of(response) -> str:
    """How much the answer holds: `shown/total` for paginated answers, the length of a list."""
    try:
        data = response.json()
    except ValueError:
        return "?"
    if isinstance(data, dict) and "results" in data:
        return f"{len(data['results'])}/{data.get('count', '?')}"
    if isinstance(data, list | dict):
        return str(len(data))
    return "?"


def measure(client: BenchClient, label: str, url: str, *, requests: int, warmup: int) -> Measure:
    """`requests` timed GETs after `warmup` untimed ones, then one more to count its SQL queries."""
    for _ in range(warmup):
        client.fresh().get(url)
    timings, statuses = [], set()
    for _ in range(requests):
        client.fresh()
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        statuses.add(response.status_code)
    client.fresh()
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    statuses.add(response.status_code)
    status = response.status_code if len(statuses) == 1 else -1  # -1: the status changed between requests
    if response.status_code != 200:
        print(f"  {label}: HTTP {response.status_code}: {response.content[:300]!r}", flush=True)
    queries = captured.captured_queries
    return Measure(label, url, status, items_of(response), len(queries), timings, queries)


def explain_slowest_query(result: Measure) -> None:
    """EXPLAIN ANALYZE of the slowest SQL query of one request of a slow endpoint."""
    if not result.captured:
        return
    slowest = max(result.captured, key=lambda query: float(query["time"]))
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {slowest['sql']}")
        plan = [row[0] for row in cursor.fetchall()]
    print(f"    slowest query ({float(slowest['time']) * 1000:.1f} ms): {slowest['sql'][:400]}...", flush=True)
    print("\n".join(f"      {line}" for line in plan), flush=True)
