"""A fake log listener: a TCP server on loopback receiving length-prefixed JSON log records.

Each record arrives as a 4-byte big-endian length followed by that many bytes of JSON, the transport of
`admin_cohort.logging.JsonSocketHandler` (and of the production listener).
"""

from __future__ import annotations

import json
import socketserver
import struct
import threading
import time
from collections.abc import Callable

from tests.fakes.loopback import LoopbackServer


class LogListener(LoopbackServer):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict] = []
        self._lock = threading.Lock()

    def _make_server(self) -> socketserver.ThreadingTCPServer:
        listener = self

        class _Handler(socketserver.StreamRequestHandler):
            def handle(self) -> None:
                while True:
                    header = self.rfile.read(4)
                    if len(header) < 4:
                        return
                    (length,) = struct.unpack(">L", header)
                    record = json.loads(self.rfile.read(length))
                    with listener._lock:
                        listener.records.append(record)

        return socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)

    def wait_for(self, predicate: Callable[[dict], bool], timeout: float = 5.0) -> dict:
        """The first received record matching `predicate` (records arrive asynchronously)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for record in self.records:
                    if predicate(record):
                        return record
            time.sleep(0.02)
        raise AssertionError(f"no matching log record within {timeout}s; received {self.records!r}")
