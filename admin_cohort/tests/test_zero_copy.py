"""The zero-copy send extension (admin_cohort.zero_copy) under the uvicorn that production runs: a response's
body relayed by the kernel from a socket to the client, and what happens when either side fails."""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time

import pytest

from admin_cohort import zero_copy
from admin_cohort.web_server import serving_in_thread
from admin_cohort.zero_copy import EXTENSION, ClientGone, RelayJob, SourceError, ZeroCopySend

HEAD = b"first bytes, sent as a plain body message|"


class Source:
    """A TCP peer that sends `body` (then waits, or closes when `close_after`), as a storage service would; it
    notes when the other end stopped taking its bytes."""

    def __init__(self, body: bytes, *, repeat: int = 1, close_after: bool = True) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._body, self._repeat, self._close_after = body, repeat, close_after
        self.cut_off = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()
        self.socket = socket.create_connection(self._listener.getsockname())
        self.socket.settimeout(5)

    def _serve(self) -> None:
        peer, _ = self._listener.accept()
        try:
            for _ in range(self._repeat):
                peer.sendall(self._body)
            if not self._close_after:
                peer.recv(1)  # until the relay closes its end
        except OSError:
            pass
        finally:
            self.cut_off.set()
            peer.close()

    def close(self) -> None:
        self.socket.close()
        self._listener.close()


def relaying_app(source: Source, length: int, seen_scopes: list):
    """An ASGI application answering HEAD then `length` bytes of `source` through the extension, and closing
    `source` then, as Django closes a response once served; HEAD alone to the next requests."""

    async def app(scope, receive, send):
        seen_scopes.append(scope)
        await receive()
        relayed = length if len(seen_scopes) == 1 else 0
        headers = [(b"content-length", str(len(HEAD) + relayed).encode())]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": HEAD, "more_body": bool(relayed)})
        if relayed:
            try:
                await send({"type": EXTENSION, "file": source.socket, "count": relayed, "more_body": False})
            finally:
                source.socket.close()

    return app


def plain_app(seen_scopes: list):
    async def app(scope, receive, send):
        seen_scopes.append(scope)
        await receive()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    return app


def get(host_port: str, connection: http.client.HTTPConnection | None = None):
    connection = connection or http.client.HTTPConnection(host_port, timeout=10)
    connection.request("GET", "/download")
    return connection, connection.getresponse()


class TestUnderUvicorn:
    def test_the_extension_is_offered_to_reads_over_plain_tcp_with_httptools_only(self):
        seen: list = []
        with serving_in_thread(ZeroCopySend(plain_app(seen))) as host_port:
            connection, response = get(host_port)
            response.read()
            connection.request("POST", "/counts", body=b"{}")
            connection.getresponse().read()
        with serving_in_thread(ZeroCopySend(plain_app(seen)), http="h11") as host_port:
            get(host_port)[1].read()
        assert EXTENSION in seen[0]["extensions"]
        assert EXTENSION not in seen[1].get("extensions", {})  # a write: nothing to relay
        assert EXTENSION not in seen[2].get("extensions", {})  # another server: responses stream as before

    def test_the_extension_is_not_offered_over_tls(self, tls):
        """The kernel cannot encrypt: relayed bytes would reach the client in clear inside a TLS connection."""
        seen: list = []
        with serving_in_thread(ZeroCopySend(plain_app(seen)), **tls.uvicorn_options) as host_port:
            connection = http.client.HTTPSConnection(host_port, timeout=10, context=tls.client)
            get(host_port, connection)[1].read()
            connection.close()
        assert seen[0]["scheme"] == "https"
        assert EXTENSION not in seen[0].get("extensions", {})

    def test_the_source_bytes_follow_the_head_and_the_connection_serves_again(self):
        body = os.urandom(3 * 1024 * 1024 + 17)
        source = Source(body)
        seen: list = []
        try:
            with serving_in_thread(ZeroCopySend(relaying_app(source, len(body), seen))) as host_port:
                connection, response = get(host_port)
                received = response.read()
                assert response.status == 200
                assert received == HEAD + body
                # Kept alive: uvicorn counted the relayed bytes against the Content-Length.
                connection, again = get(host_port, connection)
                assert again.status == 200
                assert again.read() == HEAD
        finally:
            source.close()

    def test_a_source_that_ends_early_cuts_the_response_short(self):
        source = Source(b"x" * 1000)  # then closes, where 5000 bytes were announced
        seen: list = []
        try:
            with serving_in_thread(ZeroCopySend(relaying_app(source, 5000, seen))) as host_port:
                _connection, response = get(host_port)
                with pytest.raises(http.client.IncompleteRead):
                    response.read()
                # The server goes on serving.
                assert get(host_port)[1].status == 200
        finally:
            source.close()

    def test_a_client_that_goes_away_frees_the_source(self):
        chunk = b"y" * (1024 * 1024)
        source = Source(chunk, repeat=2000, close_after=False)  # 2 GB announced, far more than the buffers
        seen: list = []
        try:
            with serving_in_thread(ZeroCopySend(relaying_app(source, 2000 * len(chunk), seen))) as host_port:
                connection, response = get(host_port)
                assert len(response.read(len(HEAD) + 100_000)) == len(HEAD) + 100_000
                connection.sock.close()
                connection.close()
                # The relay stops and closes its copy of the source: the storage sees its connection closed.
                assert source.cut_off.wait(10)
                assert get(host_port)[1].status == 200
        finally:
            source.close()


@pytest.fixture
def ends():
    """The ends of a source connection and of a client connection, as socket pairs: (source_out, source_in,
    client_out, client_in), where a job reads `source_out` and writes `client_out`. All closed afterwards."""
    source_out, source_in = socket.socketpair()
    client_out, client_in = socket.socketpair()
    yield source_out, source_in, client_out, client_in
    for sock in (source_out, source_in, client_out, client_in):
        sock.close()


class TestRelayJob:
    def test_it_works_on_its_own_copies_of_the_descriptors(self, ends):
        source_out, source_in, client_out, client_in = ends
        body = os.urandom(200_000)
        source_in.sendall(body)
        job = RelayJob(source_out.fileno(), client_out.fileno(), len(body), source_timeout=5)
        # Closed by their owners meanwhile: the numbers may go to other connections, which the job never touches.
        source_out.close()
        client_out.close()
        job.run()
        client_in.settimeout(5)
        received = b""
        while len(received) < len(body):
            received += client_in.recv(65536)
        assert received == body
        assert client_in.recv(1) == b""  # the job closed its copy: the client's connection ended

    def test_a_source_that_sends_nothing_fails_after_its_timeout(self, ends):
        source_out, _source_in, client_out, _client_in = ends
        source_out.setblocking(False)
        job = RelayJob(source_out.fileno(), client_out.fileno(), 10, source_timeout=0.3)
        started = time.monotonic()
        with pytest.raises(SourceError):
            job.run()
        assert time.monotonic() - started < 3

    def test_a_client_that_takes_nothing_is_dropped(self, ends, monkeypatch):
        monkeypatch.setattr(zero_copy, "CLIENT_STALL_SECONDS", 0.3)
        source_out, source_in, client_out, _client_in = ends
        client_out.setblocking(False)
        threading.Thread(target=_feed, args=(source_in, 50), daemon=True).start()
        job = RelayJob(source_out.fileno(), client_out.fileno(), 50 * 1024 * 1024, source_timeout=5)
        with pytest.raises(ClientGone):
            job.run()

    def test_a_stopped_job_ends_within_a_second_or_so(self, ends):
        source_out, _source_in, client_out, _client_in = ends
        source_out.setblocking(False)
        job = RelayJob(source_out.fileno(), client_out.fileno(), 10, source_timeout=None)  # would wait forever
        threading.Timer(0.2, job.stop).start()
        started = time.monotonic()
        with pytest.raises(ClientGone, match="stopped"):
            job.run()
        assert time.monotonic() - started < zero_copy.STOP_CHECK_SECONDS + 2


def _feed(sock: socket.socket, megabytes: int) -> None:
    try:
        for _ in range(megabytes):
            sock.sendall(b"z" * (1024 * 1024))
    except OSError:
        pass
