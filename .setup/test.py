#!/usr/bin/env python3
"""Runs the whole test-suite against real PostgreSQL and Redis (started here when installed but stopped).

Usage: python3 .setup/test.py [pytest arguments]
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from venv_setup import ROOT, ensure_venv

SERVICES = {
    "PostgreSQL": (
        5432,
        "pg_ctlcluster",
        "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql | head -1) main start",
    ),
    "Redis": (
        6379,
        "redis-server",
        'redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no',
    ),
}


def reachable(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def ensure_services() -> None:
    for name, (port, program, command) in SERVICES.items():
        if reachable(port):
            continue
        if shutil.which(program) is None:
            sys.exit(f"{name} is not reachable on 127.0.0.1:{port} and `{program}` is not installed: install it.")
        print(f"Starting {name} …", flush=True)
        subprocess.run(command, shell=True, check=False)
        for _ in range(30):
            if reachable(port):
                break
            time.sleep(1)
        else:
            sys.exit(f"{name} did not start on 127.0.0.1:{port}.")


if __name__ == "__main__":
    python = ensure_venv("requirements-dev.txt")
    ensure_services()
    os.chdir(ROOT)
    sys.exit(subprocess.run([str(python), "-m", "pytest", *sys.argv[1:]]).returncode)
