"""Child processes of the benchmarks: the production parts (ASGI server, Celery worker, fake services) started
as a deployment would start them, each in its own process group, logging to a file, stopped together.

No Django here: the children are configured by their environment, like production processes.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT_DIR = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


_LIBC = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Run in the child before exec: it gets SIGTERM if the benchmark is killed without cleaning up."""
    _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    name: str
    process: subprocess.Popen
    log: Path

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


class Deployment:
    """The production parts as separate processes, each in its own process group, all stopped by `stop()`."""

    def __init__(self, logs: Path, env: dict[str, str]) -> None:
        self.logs = logs
        self.env = env
        self.children: list[Child] = []

    def spawn(self, name: str, command: list[str], **popen) -> Child:
        log = self.logs / f"{name}.log"
        with log.open("wb") as output:
            popen.setdefault("stdout", output)
            process = subprocess.Popen(
                command,
                cwd=ROOT_DIR,
                env=self.env,
                stderr=output,
                start_new_session=True,  # its own group: a prefork worker is stopped with its children
                preexec_fn=_die_with_parent,  # safe: no other thread runs while children are spawned
                **popen,
            )
        child = Child(name, process, log)
        self.children.append(child)
        return child

    def check(self) -> None:
        for child in self.children:
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited ({child.process.returncode}):\n{child.tail()}")

    def wait_for_log(self, child: Child, text: str, timeout: float = 60, times: int = 1) -> None:
        deadline = time.monotonic() + timeout
        while child.log.read_text(errors="replace").count(text) < times:
            self.check()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{child.name} did not log {text!r} within {timeout} s:\n{child.tail()}")
            time.sleep(0.1)

    def stop_child(self, child: Child) -> None:
        process = child.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        if process.stdin:
            process.stdin.close()
        if process.stdout:
            process.stdout.close()
        self.children.remove(child)

    def stop(self) -> None:
        for child in reversed(list(self.children)):
            try:
                self.stop_child(child)
            except Exception as error:  # keep stopping the others; say which one may be left behind
                print(f"could not stop {child.name} (pid {child.process.pid}): {error}", file=sys.stderr)


# The production command of the web process (README), and the log line once it listens.
WEB_SERVER_COMMAND = [sys.executable, "-m", "admin_cohort.web_server", "--no-access-log"]
WEB_SERVER_STARTED = "Started server process"  # logged by each worker process


def free_port() -> int:
    """A loopback port free now; the web server binds it a moment later, as a production one binds its own."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_web_server(deployment: Deployment, port: int, processes: int = 1) -> Child:
    """The production web command on 127.0.0.1:`port` with `processes` worker processes, once all of them serve.

    Not a socket handed over with `--fd`: uvicorn takes an inherited socket for a UNIX one, and its connections
    then go without TCP_NODELAY, where Nagle's algorithm and delayed ACKs add 40 ms to every answer.
    """
    web = deployment.spawn(
        "web", [*WEB_SERVER_COMMAND, "--host", "127.0.0.1", "--port", str(port), "--workers", str(processes)]
    )
    deployment.wait_for_log(web, WEB_SERVER_STARTED, times=processes)
    return web


def child_environment() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT_DIR), env.get("PYTHONPATH")]))
    return env


def spawn_fake_server(deployment: Deployment, name: str, arguments: list[str]) -> str:
    """A fake service run by `python <arguments>`, which prints its URL on its first line once it listens."""
    fake = deployment.spawn(
        name, [sys.executable, *arguments], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    url = fake.process.stdout.readline().strip()
    if not url.startswith("http://"):
        raise RuntimeError(f"the {name} did not start:\n{fake.tail()}")
    return url


def serve_for_parent(server) -> int:
    """Child process mode of a fake service (a tests.fakes server): prints its URL, then serves until its stdin
    closes (the benchmark ended or died)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server.start()
    try:
        print(server.url, flush=True)
        sys.stdin.read()
    finally:
        server.stop()
    return 0
