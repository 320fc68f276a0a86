"""The README's run command, server part: `manage.py run_embedded` in a clean environment, used as a client would."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from websockets.sync.client import connect

from admin_cohort.env import BASE_DIR

pytestmark = pytest.mark.slow

START_TIMEOUT = 90
STOP_TIMEOUT = 30
READY_LINE = "Swagger UI: "


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _clean_environment(database: Path) -> dict[str, str]:
    # An empty DB_NAME wins over any .env file of the developer's: the embedded mode whatever they configured.
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "EMBEDDED_DB_PATH": str(database),
        "DB_NAME": "",
    }


@contextmanager
def embedded_server(database: Path, log: Path):
    """Yields (base URL, seconds until the server answered); stops it with SIGTERM and checks a clean exit."""
    port = _free_port()
    started = time.monotonic()
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "run_embedded", "--port", str(port)],
            cwd=BASE_DIR,
            env=_clean_environment(database),
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        while READY_LINE not in log.read_text():
            if process.poll() is not None:
                pytest.fail(f"run_embedded exited with {process.returncode}:\n{log.read_text()}")
            if time.monotonic() - started > START_TIMEOUT:
                pytest.fail(f"run_embedded did not answer within {START_TIMEOUT} s:\n{log.read_text()}")
            time.sleep(0.05)
        yield f"127.0.0.1:{port}", time.monotonic() - started
        process.send_signal(signal.SIGTERM)
        assert process.wait(STOP_TIMEOUT) == 0, log.read_text()
        assert "Stopped." in log.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _login(base: str) -> str:
    response = requests.post(
        f"http://{base}/auth/login/",
        files={"username": (None, "admin"), "password": (None, "admin")},  # multipart, as Cohort360 sends it
        headers={"AuthorizationMethod": "JWT"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def _check_api(base: str) -> None:
    token = _login(base)
    users = requests.get(
        f"http://{base}/users/", headers={"Authorization": f"Bearer {token}", "AuthorizationMethod": "JWT"}, timeout=30
    )
    assert users.status_code == 200, users.text
    assert {"admin", "SPARK_JOB_SERVER", "SOLR_ETL"} <= {user["username"] for user in users.json()["results"]}

    docs = requests.get(f"http://{base}/docs", timeout=30)
    assert docs.status_code == 200
    assert docs.headers["Content-Type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
    assert assets and all(asset.startswith("/static/") for asset in assets), assets  # offline: no CDN
    for asset in assets:
        assert requests.get(f"http://{base}{asset}", timeout=30).status_code == 200, asset

    with connect(f"ws://{base}/ws/", proxy=None, open_timeout=10) as socket_:
        socket_.send(json.dumps({"token": token, "auth_method": "JWT"}))
        assert json.loads(socket_.recv(timeout=10)) == {"type": "handshake", "status": "accepted", "details": ""}


def test_embedded_mode_serves_api_docs_and_websocket_from_a_fresh_database(tmp_path):
    database = tmp_path / "embedded.sqlite3"

    with embedded_server(database, tmp_path / "first.log") as (base, first_start):
        _check_api(base)
    first_log = (tmp_path / "first.log").read_text()
    assert "Successfully added user 'admin' with 'Full Admin' role" in first_log
    assert "http://127.0.0.1:" in first_log and "/docs" in first_log

    with embedded_server(database, tmp_path / "second.log") as (base, second_start):
        _login(base)
    assert "Nothing changed." in (tmp_path / "second.log").read_text()

    print(f"\nembedded start: fresh database {first_start:.2f} s, second start {second_start:.2f} s")
