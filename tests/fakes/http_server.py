"""A small fake HTTP service on loopback, recording every request it receives.

Fakes subclass `FakeServer` (or use it directly) and register routes; a test reads `server.requests` to
assert what the backend really sent. Routes are matched newest first, so a test can override a default
route (e.g. make an endpoint fail) by registering the same method and pattern again.

    with FakeServer() as server:
        server.route("POST", "/jobs/{job_id}", lambda request, job_id: Reply(json={"id": job_id}))
        requests.post(f"{server.url}/jobs/1")
        assert server.requests[0].path == "/jobs/1"
"""

from __future__ import annotations

import json
import re
import socket
import ssl
import sys
import threading
import traceback
from collections.abc import Callable, Generator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from requests.structures import CaseInsensitiveDict

from tests.fakes.loopback import LoopbackServer


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: CaseInsensitiveDict
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        """Form fields of an urlencoded body (last value wins for repeated fields)."""
        return {key: values[-1] for key, values in parse_qs(self.body.decode(), keep_blank_values=True).items()}

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int = 200
    json: Any = None
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)

    def encoded(self) -> tuple[bytes, dict[str, str]]:
        headers = dict(self.headers)
        if self.json is not None:
            headers.setdefault("Content-Type", "application/json")
            return json.dumps(self.json).encode(), headers
        return self.body.encode() if isinstance(self.body, str) else self.body, headers


@dataclass
class StreamingReply:
    """A body of a known length sent piece by piece, so that a large file is never held in memory; `chunks`
    is closed once sent or when the client went away."""

    length: int
    chunks: Generator[bytes, None, None]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


Handler = Callable[..., Reply | StreamingReply]
"""Called with the RecordedRequest and the pattern's `{placeholders}` as keyword arguments."""


@dataclass(frozen=True)
class _Route:
    method: str
    regex: re.Pattern
    handler: Handler


def _compile(pattern: str) -> re.Pattern:
    parts = re.split(r"\{(\w+)\}", pattern)
    # even indexes are literal text, odd indexes are placeholder names
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>[^/]+)" for i, part in enumerate(parts))
    return re.compile(f"^{regex}/?$")


class Gauge:
    """A count that the server's threads change and a test waits to see back at zero."""

    def __init__(self, left_over: str) -> None:
        self.value = 0
        self._left_over = left_over  # what a count above zero means, for the timeout's message
        self._changed = threading.Condition()

    def change(self, by: int) -> None:
        with self._changed:
            self.value += by
            self._changed.notify_all()

    def wait_for_zero(self, timeout: float) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.value == 0, timeout):
                raise TimeoutError(f"{self.value} {self._left_over}")


class QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A client that gave up (a timeout the test provoked) is expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], BrokenPipeError | ConnectionResetError):
            super().handle_error(request, client_address)


class FakeServer(LoopbackServer):
    """`tls`: a server-side context to serve HTTPS with (tests.fakes.fixtures.tls makes one the process trusts)."""

    def __init__(self, *, tls: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self._tls = tls
        self.requests: list[RecordedRequest] = []
        self._routes: list[_Route] = []
        self._lock = threading.Lock()
        # Connections of clients not closed yet (kept alive between requests, or sending an answer).
        self.connections = Gauge("connection(s) still open")

    # -- configuration -------------------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Handler) -> None:
        """`pattern` is a path with `{name}` placeholders matching one segment; a trailing slash is optional."""
        with self._lock:
            self._routes.insert(0, _Route(method.upper(), _compile(pattern), handler))

    def reply(self, method: str, pattern: str, reply: Reply) -> None:
        """A fixed answer, typically to make one endpoint fail in a test."""
        self.route(method, pattern, lambda request, **_params: reply)

    # -- lifecycle -----------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self.address
        return f"{'https' if self._tls else 'http'}://{host}:{port}"

    def _make_server(self) -> ThreadingHTTPServer:
        server = QuietServer(("127.0.0.1", 0), _handler_class(self))
        if self._tls:
            server.socket = self._tls.wrap_socket(server.socket, server_side=True)
        return server

    # -- inspection ----------------------------------------------------------------------------------

    def requests_to(self, path_suffix: str, method: str | None = None) -> list[RecordedRequest]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path.rstrip("/").endswith(path_suffix.rstrip("/")) and (method is None or r.method == method)
            ]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- dispatch ------------------------------------------------------------------------------------

    @property
    def open_connections(self) -> int:
        return self.connections.value

    def wait_for_no_open_connection(self, timeout: float = 10) -> None:
        """Waits until every client has closed its connections (a keep-alive one included)."""
        self.connections.wait_for_zero(timeout)

    def _dispatch(self, request: RecordedRequest) -> Reply | StreamingReply:
        with self._lock:
            self.requests.append(request)
            routes = list(self._routes)
        for route in routes:
            match = route.regex.match(request.path)
            if match and route.method == request.method:
                return route.handler(request, **match.groupdict())
        return Reply(status=404, json={"error": f"no route for {request.method} {request.path}"})


def _handler_class(server: FakeServer) -> type[BaseHTTPRequestHandler]:
    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            server.connections.change(+1)
            super().setup()

        def finish(self) -> None:
            try:
                super().finish()
            finally:
                server.connections.change(-1)

        def _handle(self) -> None:
            split = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            request = RecordedRequest(
                method=self.command,
                path=split.path,
                query=parse_qs(split.query, keep_blank_values=True),
                headers=CaseInsensitiveDict(self.headers.items()),
                body=self.rfile.read(length) if length else b"",
            )
            try:
                reply = server._dispatch(request)
            except Exception:  # a broken fake must answer, not hang the backend under test
                reply = Reply(status=500, body=traceback.format_exc(), headers={"Content-Type": "text/plain"})
            if isinstance(reply, StreamingReply):
                self._stream(reply)
                return
            body, headers = reply.encoded()
            self.send_response(reply.status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _stream(self, reply: StreamingReply) -> None:
            try:
                self.send_response(reply.status)
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(reply.length))
                self.end_headers()
                for chunk in reply.chunks:
                    self.wfile.write(chunk)
            finally:
                reply.chunks.close()

        # names imposed by http.server
        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle  # noqa: N815

        def log_message(self, format, *args) -> None:  # keep test output clean
            pass

    return _Handler


def closed_port_url() -> str:
    """The URL of a loopback port nobody listens on: connections are refused at once."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
