"""The one HTTP session every outside service is called with (admin_cohort.http), against a fake server."""

from __future__ import annotations

import gzip
import os
import socket
import threading
import time

import pytest

from admin_cohort.http import environment_settings, http_session, raw_body
from tests.fakes.http_server import FakeServer, Reply


@pytest.fixture
def server():
    with FakeServer() as fake:
        fake.reply("GET", "/status", Reply(json={"status": "ok"}))
        yield fake


def test_closing_a_session_closes_its_kept_alive_connections(server):
    with http_session() as session:
        first = session.get(f"{server.url}/status")
        second = session.get(f"{server.url}/status")
        assert server.open_connections == 1  # kept alive, and used again
    # Even while the caller still holds the answers (which hold on to the connection pool).
    server.wait_for_no_open_connection(timeout=2)
    assert first.json() == second.json() == {"status": "ok"}


def test_a_closed_session_still_answers(server):
    session = http_session()
    session.get(f"{server.url}/status")
    session.close()
    assert session.get(f"{server.url}/status").json() == {"status": "ok"}
    session.close()
    server.wait_for_no_open_connection(timeout=2)


class TestProxiesFromTheEnvironment:
    """requests' environment variables still apply, host by host, though they are read once per origin."""

    @pytest.fixture
    def environment(self, monkeypatch):
        environment_settings.cache_clear()
        yield monkeypatch
        environment_settings.cache_clear()

    def test_http_proxy_is_used_except_for_the_hosts_of_no_proxy(self, environment, server):
        with FakeServer() as proxy:
            proxy.reply("GET", "/status", Reply(json={"status": "proxied"}))
            direct = server.url.replace("127.0.0.1", "localhost")  # requests matches ports in NO_PROXY for names only
            environment.setenv("HTTP_PROXY", proxy.url)
            environment.setenv("NO_PROXY", direct.removeprefix("http://"))
            with http_session() as session:
                for _ in range(2):  # the second time from what was read the first time
                    assert session.get("http://query-executor.test/status").json() == {"status": "proxied"}
                    assert session.get(f"{direct}/status").json() == {"status": "ok"}
            assert [r.headers["Host"] for r in proxy.requests] == ["query-executor.test"] * 2
            assert len(server.requests) == 2

    def test_a_call_given_its_own_proxies_uses_them(self, environment, server):
        with FakeServer() as proxy:
            proxy.reply("GET", "/status", Reply(json={"status": "proxied"}))
            environment.setenv("NO_PROXY", "*")
            with http_session() as session:
                answer = session.get("http://query-executor.test/status", proxies={"http": proxy.url})
            assert answer.json() == {"status": "proxied"}

    def test_the_ca_bundle_variable_is_the_default_verification(self, environment, tmp_path):
        bundle = tmp_path / "hospital-ca.pem"
        environment.setenv("REQUESTS_CA_BUNDLE", str(bundle))
        with http_session() as session:
            settings = session.merge_environment_settings("https://fhir.test/Patient", {}, None, None, None)
            assert settings["verify"] == str(bundle)
            assert session.merge_environment_settings("https://fhir.test/", {}, None, False, None)["verify"] is False


class CannedServer:
    """Answers one connection with `answer` as given (headers and the body's first bytes in one send), then the
    `rest` of the body, then closes it: a test controls the bytes on the wire."""

    def __init__(self, answer: bytes, rest: bytes = b"") -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}/file"
        self._answer, self._rest = answer, rest
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        peer, _ = self._listener.accept()
        with peer:
            request = b""
            while b"\r\n\r\n" not in request:
                request += peer.recv(4096)
            peer.sendall(self._answer)
            time.sleep(0.05)  # the rest in its own packets
            peer.sendall(self._rest)

    def close(self) -> None:
        self._listener.close()
        self._thread.join(timeout=5)


def _recv_exactly(sock: socket.socket, length: int) -> bytes:
    sock.settimeout(5)
    received = bytearray()
    while len(received) < length:
        piece = sock.recv(length - len(received))
        assert piece, "the connection ended early"
        received += piece
    return bytes(received)


class TestRawBody:
    """An answer's body as the bytes on its socket, for the kernel to relay (admin_cohort.zero_copy)."""

    def test_the_head_already_read_then_the_rest_on_the_socket(self):
        body = os.urandom(300_000)
        answer = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body)
        server = CannedServer(answer + body[:1000], body[1000:])
        try:
            with http_session() as session:
                response = session.get(server.url, stream=True)
                raw = raw_body(response)
                assert raw is not None
                assert raw.head == body[:1000]  # read along with the headers
                assert raw.length == len(body) - 1000
                assert raw.head + _recv_exactly(raw.source, raw.length) == body
                response.close()
        finally:
            server.close()

    @pytest.mark.parametrize(
        "answer",
        [
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n%s"
            % (len(gzip.compress(b"hello")), gzip.compress(b"hello")),
            b"HTTP/1.0 200 OK\r\n\r\nhello",  # no length: the body ends with the connection
        ],
        ids=["chunked", "compressed", "unknown length"],
    )
    def test_none_when_the_body_is_not_sent_as_is_and_it_still_reads_as_usual(self, answer):
        server = CannedServer(answer)
        try:
            with http_session() as session:
                response = session.get(server.url, stream=True)
                assert raw_body(response) is None
                assert response.content == b"hello"
        finally:
            server.close()

    def test_none_over_tls_and_it_still_reads_as_usual(self, tls):
        """The kernel would relay the encrypted bytes: an answer over HTTPS is read through the session."""
        body = os.urandom(300_000)
        with FakeServer(tls=tls.server) as fake, http_session() as session:
            fake.reply("GET", "/archive", Reply(body=body))
            response = session.get(f"{fake.url}/archive", stream=True)
            assert raw_body(response) is None
            assert response.content == body
