"""The whole test-suite: `python3 .setup/test.py [pytest arguments]`.

Creates .venv if needed, installs requirements-dev.txt when it changed (requirements-kerberos.txt, which adds the
packages of the Kerberos tests, where the system has Kerberos's development files), makes sure PostgreSQL and Redis
answer on 127.0.0.1 (starting the local servers when they are installed but stopped), then runs pytest
and exits with its exit code.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

from bootstrap import ensure_venv, exec_in_repo, fail

HOST = "127.0.0.1"
POSTGRES_PORT = 5432
REDIS_PORT = 6379
START_TIMEOUT = 30
POSTGRES_CONFIGS = Path("/etc/postgresql")


def _answers(port: int) -> bool:
    try:
        socket.create_connection((HOST, port), timeout=1).close()
    except OSError:
        return False
    return True


def _wait_for(port: int) -> bool:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if _answers(port):
            return True
        time.sleep(0.5)
    return False


def _start_postgres() -> str | None:
    """None once PostgreSQL answers, else what is missing."""
    if shutil.which("pg_ctlcluster") is None or not POSTGRES_CONFIGS.is_dir():
        return "PostgreSQL is not installed (no pg_ctlcluster, no /etc/postgresql): apt-get install postgresql"
    versions = sorted(
        (p.name for p in POSTGRES_CONFIGS.iterdir() if p.is_dir()), key=lambda v: int(v) if v.isdigit() else 0
    )
    if not versions:
        return "PostgreSQL has no cluster in /etc/postgresql: pg_createcluster <version> main"
    print(f"Starting PostgreSQL {versions[-1]} …", flush=True)
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", versions[-1], "main", "start"])
    return None


def _start_redis() -> str | None:
    if shutil.which("redis-server") is None:
        return "Redis is not installed (no redis-server): apt-get install redis-server"
    print("Starting Redis …", flush=True)
    subprocess.run(
        [
            "redis-server",
            "--daemonize",
            "yes",
            "--bind",
            HOST,
            "--port",
            str(REDIS_PORT),
            "--save",
            "",
            "--appendonly",
            "no",
        ]
    )
    return None


def ensure_service(name: str, port: int, start) -> None:
    if _answers(port):
        return
    missing = start()
    if missing is not None:
        fail(f"{name} does not answer on {HOST}:{port} and cannot be started here. {missing}")
    if not _wait_for(port):
        fail(f"{name} was started but does not answer on {HOST}:{port} after {START_TIMEOUT} s")


if __name__ == "__main__":
    python = ensure_venv("requirements-kerberos.txt" if shutil.which("krb5-config") else "requirements-dev.txt")
    ensure_service("PostgreSQL", POSTGRES_PORT, _start_postgres)
    ensure_service("Redis", REDIS_PORT, _start_redis)
    exec_in_repo(python, "-m", "pytest", *sys.argv[1:])
