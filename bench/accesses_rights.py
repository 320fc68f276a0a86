"""Benchmark of the access-rights endpoints on a large perimeter tree (prints figures, asserts nothing).

Run from the project root:  .venv/bin/python bench/accesses_rights.py [--requests 200] [--warmup 20]

Creates two throw-away PostgreSQL databases (c360_bench_<run>, c360_bench_<run>_small), always dropped at
the end, loads a 20,221-perimeter tree (and a 2,023-perimeter one) with `load_initial_data`, seeds users,
roles and accesses, then times the rights endpoints with the Django test client (response cache off).
See bench/README.md.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT_DIR))

RUN_ID = uuid.uuid4().hex[:8]
LARGE_DB = f"c360_bench_{RUN_ID}"
SMALL_DB = f"c360_bench_{RUN_ID}_small"

# Before Django reads its settings: tests.settings fills the rest with setdefault.
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
os.environ["DB_NAME"] = LARGE_DB
os.environ["TEST_RUN_ID"] = f"bench{RUN_ID}"
os.environ["ENABLE_CACHE"] = "false"  # we measure the computation, not the response cache
# accesses_perimeters only brings the OMOP sync task (and a second database): not needed here.
os.environ["INCLUDED_APPS"] = "accesses,content_management"
os.environ.setdefault("SOCKET_LOGGER_ENABLED", "false")

import django  # noqa: E402

django.setup()

from _harness import (  # noqa: E402
    SLOW_P95_MS,
    BenchClient,
    Measure,
    create_database,
    drop_database,
    explain_slowest_query,
    measure,
    use_database,
)
from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from accesses.models import MANUAL, Access, Perimeter, Profile, Role  # noqa: E402
from admin_cohort.models import User  # noqa: E402

LARGE_SHAPE = (20, 10, 10, 9)  # root -> 20 GH -> 10 hospitals -> 10 poles -> 9 units = 20,221 perimeters
SMALL_SHAPE = (2, 10, 10, 9)  # the same branching with 2 GH: 2,023 perimeters (10x smaller)
USERS = 300
ACCESSES = 2000
HEADER = (
    "id;name;short_name;type_source_value;source_value;local_id;cohort_id;parent_id;level;"
    "above_levels_ids;inferior_levels_ids"
)


# ------------------------------------------------------------------------------------------------ tree
@dataclass
class Tree:
    levels: dict[int, list[int]] = field(default_factory=dict)  # level (1 = root) -> perimeter ids
    children: dict[int, list[int]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return sum(len(ids) for ids in self.levels.values())

    def descendants(self, node: int, level_below: int) -> list[int]:
        nodes = [node]
        for _ in range(level_below):
            nodes = [child for parent in nodes for child in self.children[parent]]
        return nodes


def write_tree_csv(path: Path, shape: tuple[int, ...]) -> Tree:
    """A 5-level tree in the format of .setup/perimeters.example.csv (ancestry columns left to compute)."""
    types = settings.PERIMETER_TYPES
    prefixes = ("GH", "Hospital", "Pole", "Unit")
    codes = ("GH", "H", "P", "U")
    tree = Tree()
    next_id = 8_000_000_000
    rows = [HEADER]

    def add(level: int, name: str, short: str, code: str, parent: int | None) -> int:
        nonlocal next_id
        next_id += 1
        node = next_id
        tree.levels.setdefault(level, []).append(node)
        tree.children[node] = []
        if parent is not None:
            tree.children[parent].append(node)
        cohort = str(node - 8_000_000_000 + 100_000)
        rows.append(f"{node};{name};{short};{types[level - 1]};{code};{node};{cohort};{parent or ''};;;")
        return node

    root = add(1, "ASSISTANCE PUBLIQUE BENCH", "AP-BENCH", "APBENCH", None)
    parents: list[tuple[int, str]] = [(root, "")]
    for depth, count in enumerate(shape):
        current = []
        for parent, suffix in parents:
            for index in range(1, count + 1):
                label = f"{suffix}-{index:02d}" if suffix else f"{index:02d}"
                name = f"{prefixes[depth]} {label}"
                node = add(depth + 2, name, name, f"{codes[depth]}{label.replace('-', '')}", parent)
                current.append((node, label))
        parents = current
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return tree


def load_tree(path: Path) -> tuple[float, str]:
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    call_command("load_initial_data", perimeters_conf=path, stdout=out, stderr=err)
    elapsed = time.perf_counter() - started
    return elapsed, out.getvalue().strip().splitlines()[0]


# -------------------------------------------------------------------------------------------- seeding
@dataclass
class Fixture:
    user: User
    hospitals: dict[str, list[int]]  # role kind -> the benchmark user's hospitals
    requests: list[tuple[str, str]]  # (label, url)


def _role(name: str, **flags) -> Role:
    return Role.objects.create(name=name, **flags)


def seed(tree: Tree, rng: random.Random) -> Fixture:
    roles = {
        "nominative": _role(
            "Bench nominative reader", right_read_patient_nominative=True, right_read_patient_pseudonymized=True
        ),
        "pseudonymised": _role("Bench pseudonymised reader", right_read_patient_pseudonymized=True),
        "data manager": _role(
            "Bench data manager",
            right_manage_users=True,
            right_manage_data_accesses_same_level=True,
            right_manage_data_accesses_inferior_levels=True,
        ),
        "admin manager": _role(
            "Bench admin manager",
            right_manage_users=True,
            right_manage_admin_accesses_same_level=True,
            right_manage_admin_accesses_inferior_levels=True,
        ),
    }
    users = User.objects.bulk_create(
        User(
            username=f"{7_000_000 + index}",
            password="!",
            firstname=f"First{index}",
            lastname=f"LAST{index}",
            email=f"bench{index}@example.org",
        )
        for index in range(USERS)
    )
    profiles = Profile.objects.bulk_create(Profile(user=user, source=MANUAL, is_active=True) for user in users)
    now = timezone.now()
    start, end = now - timedelta(days=1), now + timedelta(days=30)

    hospitals = rng.sample(tree.levels[3], 10)
    mine = {
        "nominative": hospitals[0:3],
        "pseudonymised": hospitals[3:5],
        "data manager": hospitals[5:8],
        "admin manager": hospitals[8:10],
    }
    accesses = [
        Access(profile=profiles[0], role=roles[kind], perimeter_id=perimeter, start_datetime=start, end_datetime=end)
        for kind, perimeters in mine.items()
        for perimeter in perimeters
    ]
    every_perimeter = [node for ids in tree.levels.values() for node in ids]
    role_list = list(roles.values())
    while len(accesses) < ACCESSES:
        accesses.append(
            Access(
                profile=rng.choice(profiles[1:]),
                role=rng.choice(role_list),
                perimeter_id=rng.choice(every_perimeter),
                start_datetime=start,
                end_datetime=end,
            )
        )
    Access.objects.bulk_create(accesses, batch_size=1000)

    managed = mine["data manager"][0]
    data_ids = [
        mine["nominative"][0],
        rng.choice(tree.descendants(mine["nominative"][1], 1)),  # a pole
        rng.choice(tree.descendants(mine["pseudonymised"][0], 2)),  # a unit
    ]
    local_ids = [str(node) for node in rng.sample(every_perimeter, 20)]
    requests = [
        ("read rights (tops)", "/accesses/perimeters/patient-data/rights/"),
        ("read rights (expanded)", "/accesses/perimeters/patient-data/rights/?limit=20&search=Unit"),
        ("manageable perimeters", "/accesses/perimeters/manageable/"),
        (
            "accesses of a perimeter",
            f"/accesses/accesses/?perimeter_id={managed}&include_parents=true&include_children=true"
            "&page=1&ordering=-is_valid",
        ),
        ("my data rights", f"/accesses/accesses/my-data-rights/?perimeters_ids={','.join(map(str, data_ids))}"),
        ("perimeters by local_id", f"/accesses/perimeters/?limit=-1&local_id={','.join(local_ids)}"),
    ]
    return Fixture(user=users[0], hospitals=mine, requests=requests)


# -------------------------------------------------------------------------------------------- measuring
def run_endpoints(fixture: Fixture, *, requests: int, warmup: int, explain: bool) -> list[Measure]:
    client = BenchClient(fixture.user)
    results = []
    for label, url in fixture.requests:
        result = measure(client, label, url, requests=requests, warmup=warmup)
        results.append(result)
        print(f"  {result.line()}", flush=True)
        if result.p95 > SLOW_P95_MS and explain:
            explain_slowest_query(result)
    return results


# ------------------------------------------------------------------------------------------------ main
@dataclass
class Scenario:
    name: str
    perimeters: int
    load_s: float
    reload_s: float
    results: list[Measure]


def run_scenario(
    name: str, database: str, shape: tuple[int, ...], *, seed_value: int, requests: int, warmup: int, options
) -> Scenario:
    print(f"\n=== {name} tree (database {database}) ===", flush=True)
    use_database(database)
    started = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    print(f"  migrate: {time.perf_counter() - started:.1f} s", flush=True)
    with tempfile.TemporaryDirectory(prefix="c360_bench_") as folder:
        path = Path(folder) / "perimeters.csv"
        tree = write_tree_csv(path, shape)
        print(f"  CSV: {tree.size:,} perimeters, {path.stat().st_size / 1024:.0f} KiB", flush=True)
        load_s, summary = load_tree(path)
        print(f"  load_initial_data (first run):  {load_s:6.2f} s  [{summary}]", flush=True)
        reload_s, summary = load_tree(path)
        print(f"  load_initial_data (second run): {reload_s:6.2f} s  [{summary}]", flush=True)
    assert Perimeter.objects.count() == tree.size, "the tree was not loaded"
    fixture = seed(tree, random.Random(seed_value))
    print(
        f"  seeded {User.objects.count()} users, {Access.objects.count()} accesses; benchmark user "
        f"{fixture.user.username}: "
        + ", ".join(f"{kind} on {len(ids)} hospitals" for kind, ids in fixture.hospitals.items()),
        flush=True,
    )
    if options.analyze:
        # Planner statistics, as autovacuum would gather them within a minute of the load in production;
        # without them PostgreSQL picks nested loops over the 20k perimeters (see --no-analyze).
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(
        f"  {requests} requests per endpoint after {warmup} warm-up requests "
        f"({'after ANALYZE' if options.analyze else 'no ANALYZE: planner statistics missing'}):",
        flush=True,
    )
    results = run_endpoints(fixture, requests=requests, warmup=warmup, explain=options.explain)
    return Scenario(name, tree.size, load_s, reload_s, results)


def print_summary(large: Scenario, small: Scenario) -> None:
    print("\n=== Summary ===")
    print(
        f"load_initial_data: {large.perimeters:,} perimeters {large.load_s:.2f} s (second run {large.reload_s:.2f} s); "
        f"{small.perimeters:,} perimeters {small.load_s:.2f} s (second run {small.reload_s:.2f} s)"
    )
    big, little = f"{large.perimeters:,}", f"{small.perimeters:,}"
    header = (
        f"{'endpoint':<24} {'status':>6} {'items':>9} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} "
        f"{'queries':>7} {'queries':>7} {'p50 ms':>8}  note"
    )
    print(f"{'':<24} {'':>6} {'':>9} {big + ' perimeters':>26}  {big:>7} {little:>7} {little:>8}")
    print(header)
    print("-" * len(header))
    for row, other in zip(large.results, small.results, strict=True):
        notes = []
        if row.p95 > SLOW_P95_MS:
            notes.append("SLOW (p95 > 50 ms)")
        if row.queries != other.queries:
            notes.append("query count depends on tree size")
        if row.status != 200 or other.status != 200:
            notes.append("not 200")
        print(
            f"{row.label:<24} {row.status:>6} {row.items:>9} {row.p50:8.1f} {row.p95:8.1f} {row.max:8.1f} "
            f"{row.queries:>7} {other.queries:>7} {other.p50:8.1f}  {'; '.join(notes)}"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="timed requests per endpoint (large tree)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first (large tree)")
    parser.add_argument("--small-requests", type=int, default=30, help="timed requests per endpoint (small tree)")
    parser.add_argument("--seed", type=int, default=360, help="seed of the random accesses")
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="skip ANALYZE after seeding (the state right after a load, before autovacuum)",
    )
    parser.add_argument(
        "--no-explain", dest="explain", action="store_false", help="no EXPLAIN ANALYZE for slow endpoints"
    )
    args = parser.parse_args()

    created: list[str] = []
    try:
        for name in (LARGE_DB, SMALL_DB):
            create_database(name)
            created.append(name)
        large = run_scenario(
            "Large",
            LARGE_DB,
            LARGE_SHAPE,
            seed_value=args.seed,
            requests=args.requests,
            warmup=args.warmup,
            options=args,
        )
        small = run_scenario(
            "Small",
            SMALL_DB,
            SMALL_SHAPE,
            seed_value=args.seed,
            requests=args.small_requests,
            warmup=5,
            options=args,
        )
        print_summary(large, small)
    finally:
        for name in created:
            try:
                drop_database(name)
            except Exception as error:  # keep dropping the others; say which one is left behind
                print(f"could not drop database {name}: {error}", file=sys.stderr)
        print(f"\ndropped databases: {', '.join(created) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
