"""Benchmark of export downloads: a large archive streamed from the fake WebHDFS through
`GET /exports/{uuid}/download/`, compared with reading it from WebHDFS directly (prints figures, asserts nothing).

Run from the project root:  .venv/bin/python bench/exports_download.py [--size-mb 1000] [--repeat 3]

Creates a throw-away PostgreSQL database (c360_bench_<run>), always dropped at the end, with one researcher and
one finished CSV export, then starts, as separate processes: the fake WebHDFS (tests/fakes/webhdfs.py) holding
a sparse archive of `--size-mb` MB, and the ASGI server serving the project. The benchmark process is the
client: it reads the archive directly from WebHDFS (the namenode's `OPEN`, redirected to the datanode) and
through the download endpoint, in turns, then once more through the endpoint at the pace of a slow client, and
samples the web process's memory while it streams.

See bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

RUN_ID = os.environ.setdefault("COHORT_BENCH_RUN_ID", uuid.uuid4().hex[:8])
DB_NAME = f"c360_bench_{RUN_ID}"
os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
os.environ["DB_NAME"] = DB_NAME
os.environ["TEST_RUN_ID"] = f"bench{RUN_ID}"
os.environ["ENABLE_CACHE"] = "false"
os.environ["INCLUDED_APPS"] = "accesses,content_management,cohort,cohort_job_server,exports,exporters"
os.environ["SOCKET_LOGGER_ENABLED"] = "false"

import django  # noqa: E402

django.setup()

import requests  # noqa: E402
from _harness import create_database, drop_database, print_calibration  # noqa: E402
from _processes import (  # noqa: E402
    Child,
    Deployment,
    child_environment,
    free_port,
    serve_for_parent,
    spawn_fake_server,
    start_web_server,
)
from django.core.management import call_command  # noqa: E402

from admin_cohort.auth import jwt_tokens  # noqa: E402
from cohort.models import JobStatus  # noqa: E402
from cohort.tests.builders import cohort_of, measure_of, snapshot_of  # noqa: E402
from exports.models import Export, ExportTable  # noqa: E402
from tests.factories import PerimeterFactory, UserFactory  # noqa: E402
from tests.fakes.webhdfs import FakeWebHdfs  # noqa: E402

EXPORT_DIR = "/exports/csv"
ARCHIVE = "bench_archive"
WARMUP_ARCHIVE = "bench_warmup"
WARMUP_SIZE = 20_000_000
CHUNK_SIZE = 1_000_000  # what the client asks of each read, on both paths
MB = 1_000_000


# --------------------------------------------------------------------------------------- fake WebHDFS
def serve_fake_webhdfs(size: int) -> int:
    """Child process mode: a fake WebHDFS holding the benchmark's archives (sparse files, no disk used)."""
    hdfs = FakeWebHdfs()
    hdfs.create_file(f"{EXPORT_DIR}/{ARCHIVE}.zip", size)
    hdfs.create_file(f"{EXPORT_DIR}/{WARMUP_ARCHIVE}.zip", WARMUP_SIZE)
    return serve_for_parent(hdfs)


# ---------------------------------------------------------------------------------------------- seeding
def seed() -> tuple[str, dict[str, str]]:
    """A researcher's finished CSV exports (the measured archive and a warm-up one); their uuids by target name."""
    PerimeterFactory(id=1, cohort_id="100", level=1)
    owner = UserFactory(username="4000001", email="alice@example.org")
    source = cohort_of(
        measure_of(snapshot_of(owner, "100"), status=JobStatus.FINISHED, measure=10),
        status=JobStatus.FINISHED,
        group_id="123456",
    )
    exports = {}
    for name in (ARCHIVE, WARMUP_ARCHIVE):
        export = Export.objects.create(
            owner=owner,
            output_format="csv",
            nominative=True,
            target_location=EXPORT_DIR,
            target_name=name,
            request_job_status=JobStatus.FINISHED,
            is_user_notified=True,
        )
        ExportTable.objects.create(export=export, name="person", cohort_result_source=source)
        exports[name] = str(export.pk)
    return owner.username, exports


# ------------------------------------------------------------------------------------------ measuring
def _status_kb(pid: int, field_name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field_name}:"):
            return int(line.split()[1])
    raise KeyError(field_name)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class MemorySampler:
    """The resident memory of a process, sampled every 10 ms in a thread: the highest value seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="memory-sampler", daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak_kb = max(self.peak_kb, _status_kb(self.pid, "VmRSS"))
            self._stop.wait(0.01)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def read_all(
    url: str, headers: dict[str, str] | None = None, *, rate_mb_s: float = 0
) -> tuple[int, float, Mapping[str, str]]:
    """Bytes received, seconds taken and response headers of a streamed GET (redirects followed); with
    `rate_mb_s`, read no faster than that, as a client on a slower network would."""
    started = time.perf_counter()
    received = 0
    with requests.get(url, headers=headers or {}, stream=True, timeout=60) as response:
        response.raise_for_status()
        for chunk in response.iter_content(CHUNK_SIZE):
            received += len(chunk)
            if rate_mb_s:
                ahead = received / MB / rate_mb_s - (time.perf_counter() - started)
                if ahead > 0:
                    time.sleep(ahead)
        return received, time.perf_counter() - started, response.headers


class CpuMeter:
    """CPU seconds used by the fake WebHDFS, the web process and this client during one read."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids

    def _sample(self) -> dict[str, float]:
        used = {name: _cpu_seconds(pid) for name, pid in self.pids.items()}
        used["client"] = time.process_time()
        return used

    def __enter__(self) -> CpuMeter:
        self._started = self._sample()
        return self

    def __exit__(self, *exc) -> None:
        ended = self._sample()
        self.used = {name: ended[name] - self._started[name] for name in ended}


@dataclass
class Reads:
    """Repeated reads of the archive one way: MB/s, CPU seconds by process, the web process's peak RSS."""

    label: str
    rates: list[float] = field(default_factory=list)
    cpu: list[dict[str, float]] = field(default_factory=list)
    rss_peak_kb: int = 0


@dataclass
class Report:
    size: int
    rss_before_kb: int
    direct: Reads
    download: Reads
    slow_download: Reads
    slow_rate: float


def measure(deployment: Deployment, hdfs: Child, hdfs_url: str, username: str, exports: dict[str, str], options):
    port = free_port()
    host_port = f"127.0.0.1:{port}"
    web = start_web_server(deployment, port)
    pid = web.process.pid
    pids = {"webhdfs": hdfs.process.pid, "web": pid}

    def download_url(name: str) -> str:
        return f"http://{host_port}/exports/{exports[name]}/download/"

    def headers() -> dict[str, str]:
        token = jwt_tokens.issue_pair(username).access_token
        return {"Authorization": f"Bearer {token}", "AuthorizationMethod": "JWT"}

    def read(reads: Reads, url: str, with_headers: bool, rate: float = 0) -> None:
        with MemorySampler(pid) as sampler, CpuMeter(pids) as cpu:
            received, seconds, _ = read_all(url, headers() if with_headers else None, rate_mb_s=rate)
        if received != options.size_mb * MB:
            raise RuntimeError(f"{reads.label}: {received} bytes instead of {options.size_mb * MB}")
        reads.rates.append(received / MB / seconds)
        reads.cpu.append(cpu.used)
        reads.rss_peak_kb = max(reads.rss_peak_kb, sampler.peak_kb)
        print(
            f"  {reads.label:30} {reads.rates[-1]:7.1f} MB/s, web process peak RSS {sampler.peak_kb / 1024:.0f}MiB",
            flush=True,
        )

    received, _seconds, answered = read_all(download_url(WARMUP_ARCHIVE), headers())
    if received != WARMUP_SIZE or answered.get("Content-Disposition") != "attachment; filename=export_123456.zip":
        raise RuntimeError(f"the warm-up download went wrong: {received} bytes, headers {answered}")
    direct_url = f"{hdfs_url}/webhdfs/v1{EXPORT_DIR}/{ARCHIVE}.zip?op=OPEN&offset=0"
    read_all(direct_url)  # the first read of a new file fills the page cache: slower, not measured
    report = Report(
        size=options.size_mb * MB,
        rss_before_kb=_status_kb(pid, "VmRSS"),
        direct=Reads("direct from WebHDFS"),
        download=Reads("through download/"),
        slow_download=Reads(f"download/, {options.slow_client_mb_s:.0f} MB/s client"),
        slow_rate=options.slow_client_mb_s,
    )
    for _ in range(options.repeat):
        read(report.direct, direct_url, with_headers=False)
        read(report.download, download_url(ARCHIVE), with_headers=True)
    read(report.slow_download, download_url(ARCHIVE), with_headers=True, rate=options.slow_client_mb_s)
    deployment.stop_child(web)
    return report


def print_summary(report: Report) -> None:
    direct, download = statistics.median(report.direct.rates), statistics.median(report.download.rates)
    print(f"\n=== Summary: a {report.size / MB:.0f} MB archive, uvicorn ===")
    print(f"{'read':30} {'MB/s':>8} {'web RSS peak':>13} {'growth':>7}")
    for reads in (report.direct, report.download, report.slow_download):
        growth = (reads.rss_peak_kb - report.rss_before_kb) / 1024
        print(
            f"{reads.label:30} {statistics.median(reads.rates):>8.1f} {reads.rss_peak_kb / 1024:>10.0f}MiB "
            f"{growth:>4.0f}MiB"
        )
    print(f"download / direct: {download / direct:.0%}; web process RSS before: {report.rss_before_kb / 1024:.0f} MiB")
    print("\nCPU seconds per GB, by process (medians of the repeats):")
    print(f"{'read':30} {'webhdfs':>8} {'web':>8} {'client':>8} {'total':>8}")
    for reads in (report.direct, report.download, report.slow_download):
        per_gb = {
            name: statistics.median(sample[name] for sample in reads.cpu) / (report.size / 1e9)
            for name in ("webhdfs", "web", "client")
        }
        print(
            f"{reads.label:30} {per_gb['webhdfs']:>8.2f} {per_gb['web']:>8.2f} {per_gb['client']:>8.2f} "
            f"{sum(per_gb.values()):>8.2f}"
        )
    print(
        "\nMB/s are medians of the repeats (1 MB = 10^6 bytes). RSS is the web process's resident memory: before is "
        "after a warm-up download, peak the highest value sampled (every 10 ms) while streaming, growth their "
        "difference. Target: download at least 70 % of the direct read, web process under 100 MB of peak memory."
    )


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-mb", type=int, default=1000, help="size of the archive, in MB (10^6 bytes)")
    parser.add_argument("--repeat", type=int, default=3, help="reads of each way")
    parser.add_argument(
        "--slow-client-mb-s", type=float, default=50, help="rate of the slow client's download (it reads once)"
    )
    parser.add_argument("--serve-fake-webhdfs", type=int, metavar="SIZE", help=argparse.SUPPRESS)
    return parser.parse_args()


def _interrupted(signum, frame) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    options = parse_arguments()
    if options.serve_fake_webhdfs:
        return serve_fake_webhdfs(options.serve_fake_webhdfs)
    signal.signal(signal.SIGTERM, _interrupted)
    logs = Path(tempfile.mkdtemp(prefix=f"c360_bench_{RUN_ID}_"))
    deployment = Deployment(logs, child_environment())
    create_database(DB_NAME)
    failed = True
    try:
        call_command("migrate", verbosity=0, interactive=False)
        username, exports = seed()
        hdfs_url = spawn_fake_server(
            deployment, "fake-webhdfs", [__file__, "--serve-fake-webhdfs", str(options.size_mb * MB)]
        )
        (hdfs,) = deployment.children
        deployment.env["STORAGE_PROVIDERS"] = hdfs_url
        print(f"database {DB_NAME}, fake WebHDFS at {hdfs_url}, logs in {logs}", flush=True)
        print_calibration("at the start")
        print_summary(measure(deployment, hdfs, hdfs_url, username, exports, options))
        print_calibration("at the end")
        failed = False
    finally:
        deployment.stop()
        drop_database(DB_NAME)
        if failed:
            print(f"child process logs kept in {logs}", file=sys.stderr)
        else:
            for log in logs.iterdir():
                log.unlink()
            logs.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
