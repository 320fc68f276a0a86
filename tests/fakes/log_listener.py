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


class LogListener:
    def __init__(self) -> None:
        self.records: list[dict] = []
        self._lock = threading.Lock()
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            raise RuntimeError("The log listener is not started")
        return self._server.server_address[:2]

    def start(self) -> LogListener:
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

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="LogListener", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join(timeout=5)
            self._server = None

    def __enter__(self) -> LogListener:
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

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
