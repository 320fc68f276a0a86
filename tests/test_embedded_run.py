"""Smoke run of the embedded mode: the README's run command serves, logs in, answers, stops."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import websockets

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.slow
def test_embedded_mode_serves_login_api_docs_and_websocket(tmp_path):
    port = free_port()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/tmp"),
        "EMBEDDED_DB_PATH": str(tmp_path / "embedded.sqlite3"),
    }
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_embedded", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if requests.get(f"{base}/maintenances/next/", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, process.stdout.read()
            assert time.monotonic() < deadline, "the embedded server did not start in 90 s"
            time.sleep(0.5)
        login = requests.post(
            f"{base}/auth/login/",
            files={"username": (None, "admin"), "password": (None, "admin")},
            headers={"AuthorizationMethod": "JWT", "Authorization": "Bearer null"},
            timeout=10,
        )
        assert login.status_code == 200, login.text
        token = login.json()["access_token"]
        users = requests.get(
            f"{base}/users/", headers={"Authorization": f"Bearer {token}", "AuthorizationMethod": "JWT"}, timeout=10
        )
        assert users.status_code == 200 and users.json()["count"] >= 1
        docs = requests.get(f"{base}/docs", timeout=10)
        assert docs.status_code == 200 and "https://" not in docs.text
        assert requests.get(f"{base}/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui.css").status_code == 200

        async def handshake() -> dict:
            async with websockets.connect(f"ws://127.0.0.1:{port}/ws/") as ws:
                await ws.send(json.dumps({"token": token, "auth_method": "JWT"}))
                return json.loads(await asyncio.wait_for(ws.recv(), 10))

        assert asyncio.run(handshake())["status"] == "accepted"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    output = process.stdout.read()
    assert "Swagger UI: http://127.0.0.1:" in output
