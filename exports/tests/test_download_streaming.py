"""Downloads stream from WebHDFS to the client without holding the file in memory (spec 02 §17.4), under a
WSGI server and under the ASGI application that production serves (where Django reads a plain iterator whole
before sending it)."""

from __future__ import annotations

import asyncio
import http.client
import os
import ssl
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import pytest

from admin_cohort import zero_copy
from admin_cohort.auth import jwt_tokens
from admin_cohort.streaming import CHUNK_SIZE
from admin_cohort.web_server import serving_in_thread
from cohort.models import JobStatus
from cohort.tests.builders import cohort_of, measure_of, snapshot_of
from exports.models import Export, ExportTable
from tests.factories import UserFactory
from tests.fakes.webhdfs import FakeWebHdfs

SIZE = 150 * 1024 * 1024
MEMORY_BOUND = 20 * 1024 * 1024


@pytest.fixture
def big_export(transactional_db):
    owner = UserFactory(email="alice@example.org")
    measure = measure_of(snapshot_of(owner, "101"), status=JobStatus.FINISHED, measure=10)
    source = cohort_of(measure, status=JobStatus.FINISHED, group_id="123456")
    export = Export.objects.create(
        owner=owner,
        output_format="csv",
        nominative=True,
        target_location="/exports/csv",
        target_name="big",
        request_job_status=JobStatus.FINISHED,
    )
    ExportTable.objects.create(export=export, name="person", cohort_result_source=source)
    return export


@pytest.fixture
def hdfs(webhdfs):
    webhdfs.create_file("/exports/csv/big.zip", SIZE)
    return webhdfs


def test_under_wsgi(big_export, hdfs, make_client):
    tracemalloc.start()
    try:
        response = make_client(big_export.owner).get(_path(big_export))
        received = 0
        for chunk in response.streaming_content:
            assert len(chunk) <= CHUNK_SIZE
            received += len(chunk)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    response.close()
    hdfs.wait_for_no_open_stream()
    assert response.status_code == 200
    assert int(response["Content-Length"]) == received == SIZE
    assert peak < MEMORY_BOUND, f"peak {peak / 1e6:.1f} MB while streaming {SIZE / 1e6:.0f} MB"


class AsgiCall:
    """One GET through the project's ASGI application, as an ASGI server makes it; the body is counted, not kept."""

    def __init__(self, path: str, token: str) -> None:
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": [
                (b"host", b"localhost"),
                (b"authorization", f"Bearer {token}".encode()),
                (b"authorizationmethod", b"JWT"),
            ],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        self.status = 0
        self.headers: dict[str, str] = {}
        self.received = 0
        self.largest_message = 0

    async def run(self) -> None:
        from admin_cohort.asgi import application

        done = asyncio.Event()
        requested = False

        async def receive() -> dict:
            nonlocal requested
            if not requested:
                requested = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await done.wait()  # the client stays connected until the whole body arrived
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            if message["type"] == "http.response.start":
                self.status = message["status"]
                self.headers = {name.decode().lower(): value.decode() for name, value in message["headers"]}
            elif message["type"] == "http.response.body":
                self.received += len(message.get("body", b""))
                self.largest_message = max(self.largest_message, len(message.get("body", b"")))
                if not message.get("more_body"):
                    done.set()

        await application(self.scope, receive, send)


def test_under_asgi(big_export, hdfs):
    token = jwt_tokens.issue_pair(big_export.owner.username).access_token
    call = AsgiCall(_path(big_export), token)
    tracemalloc.start()
    try:
        asyncio.run(call.run())
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    hdfs.wait_for_no_open_stream()
    assert call.status == 200
    assert call.headers["content-disposition"] == "attachment; filename=export_123456.zip"
    assert int(call.headers["content-length"]) == call.received == SIZE
    assert peak < MEMORY_BOUND, f"peak {peak / 1e6:.1f} MB while streaming {SIZE / 1e6:.0f} MB"


def _path(export: Export) -> str:
    return f"/exports/{export.pk}/download/"


def _owner_headers(export: Export) -> dict[str, str]:
    token = jwt_tokens.issue_pair(export.owner.username).access_token
    return {"Authorization": f"Bearer {token}", "AuthorizationMethod": "JWT"}


def _connection(host_port: str, tls: ssl.SSLContext | None = None) -> http.client.HTTPConnection:
    """Over HTTPS with a `tls` client context."""
    if tls:
        return http.client.HTTPSConnection(host_port, timeout=30, context=tls)
    return http.client.HTTPConnection(host_port, timeout=30)


def _read_all(response: http.client.HTTPResponse, *, keep: bool) -> tuple[bytes, int]:
    """The body (if `keep`) and its length, read in 64 KB pieces into one buffer."""
    buffer = bytearray(65536)
    kept, received = bytearray(), 0
    while read := response.readinto(buffer):
        received += read
        if keep:
            kept += buffer[:read]
    return bytes(kept), received


def _download(
    host_port: str, export: Export, *, keep: bool, tls: ssl.SSLContext | None = None
) -> tuple[int, dict[str, str], bytes, int]:
    """Status, headers, body (if `keep`) and length of the owner's download of `export`."""
    connection = _connection(host_port, tls)
    connection.request("GET", _path(export), headers=_owner_headers(export))
    response = connection.getresponse()
    body, received = _read_all(response, keep=keep)
    connection.close()
    return response.status, {name.lower(): value for name, value in response.getheaders()}, body, received


def _assert_downloads_byte_exact(
    storage: FakeWebHdfs, host_port: str, export: Export, *, tls: ssl.SSLContext | None = None
) -> None:
    """The owner downloads a 5 MB random archive whole, and the storage's connection is closed afterwards."""
    content = os.urandom(5_000_000)
    storage.write_file("/exports/csv/big.zip", content)
    status, _headers, body, _received = _download(host_port, export, keep=True, tls=tls)
    assert status == 200
    assert body == content
    storage.wait_for_no_open_stream()


def test_under_uvicorn_the_kernel_relays_the_archive_the_process_never_reads(big_export, hdfs, live_server_url):
    """Production's server over plain TCP: the archive goes from the WebHDFS socket to the client's without
    passing through the process (admin_cohort.zero_copy), where streaming it holds CHUNK_SIZE at a time."""
    _download(live_server_url, big_export, keep=False)  # the process's first request loads code: not measured
    tracemalloc.start()
    try:
        status, headers, _body, received = _download(live_server_url, big_export, keep=False)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    hdfs.wait_for_no_open_stream()
    assert status == 200
    assert headers["content-disposition"] == "attachment; filename=export_123456.zip"
    assert int(headers["content-length"]) == received == SIZE
    assert peak < CHUNK_SIZE, f"peak {peak / 1e6:.1f} MB: the archive went through the process"


def test_under_uvicorn_the_relayed_archive_is_byte_exact(big_export, webhdfs, live_server_url):
    _assert_downloads_byte_exact(webhdfs, live_server_url, big_export)


def test_under_uvicorn_an_archive_from_webhdfs_over_https_streams_byte_exact(
    big_export, webhdfs_over_tls, live_server_url
):
    """The kernel cannot relay what arrives encrypted: the download streams through the process, as before."""
    _assert_downloads_byte_exact(webhdfs_over_tls, live_server_url, big_export)


def test_under_uvicorn_an_archive_from_a_kerberized_webhdfs_is_relayed_byte_exact(
    big_export, kerberized_webhdfs, kerberos, live_server_url, monkeypatch
):
    """The negotiation (a 401, then the request again with a SPNEGO token) and the datanode's redirect come before
    the body that is relayed."""
    relays = []
    relay = zero_copy.RelayJob.run
    monkeypatch.setattr(zero_copy.RelayJob, "run", lambda job: relays.append(job) or relay(job))  # counts, then runs
    _assert_downloads_byte_exact(kerberized_webhdfs, live_server_url, big_export)
    assert len(relays) == 1
    assert kerberized_webhdfs.principals == [kerberos.user] * 3  # the probe, the status, the OPEN


def test_under_uvicorn_serving_https_the_archive_streams_byte_exact(big_export, webhdfs, tls):
    """uvicorn encrypts: nothing may reach its clients' sockets around it."""
    from admin_cohort.asgi import application

    with serving_in_thread(application, **tls.uvicorn_options) as host_port:
        _assert_downloads_byte_exact(webhdfs, host_port, big_export, tls=tls.client)


def test_under_uvicorn_a_head_request_gets_the_headers_only(big_export, hdfs, live_server_url):
    headers = _owner_headers(big_export)
    connection = _connection(live_server_url)
    connection.request("HEAD", _path(big_export), headers=headers)
    response = connection.getresponse()
    assert response.status == 200
    assert int(response.getheader("Content-Length")) == SIZE
    assert response.read() == b""
    # The kept-alive connection is still in step: the next answer on it is read whole.
    connection.request("GET", _path(big_export), headers=headers)
    again = connection.getresponse()
    _body, received = _read_all(again, keep=False)
    connection.close()
    hdfs.wait_for_no_open_stream()
    assert again.status == 200 and received == SIZE


def test_under_uvicorn_a_client_that_goes_away_frees_the_storage_connection(big_export, hdfs, live_server_url):
    connection = _connection(live_server_url)
    connection.request("GET", _path(big_export), headers=_owner_headers(big_export))
    response = connection.getresponse()
    assert len(response.read(1_000_000)) == 1_000_000
    connection.sock.close()  # gone, 149 MB before the end
    connection.close()
    hdfs.wait_for_no_open_stream()  # the relay stopped and the WebHDFS connection was closed
    status, _headers, _body, received = _download(live_server_url, big_export, keep=False)
    assert status == 200 and received == SIZE


def test_under_uvicorn_a_relay_that_never_started_leaves_no_connection_open(
    big_export, hdfs, live_server_url, monkeypatch
):
    """Every relay thread busy: the download waits; its client leaves; the relay is dropped before it started, and
    the duplicates of the descriptors it was given are closed all the same."""
    busy = threading.Event()
    saturated = ThreadPoolExecutor(max_workers=1)
    saturated.submit(busy.wait)
    monkeypatch.setattr(zero_copy, "_relays", saturated)
    connection = _connection(live_server_url)
    connection.request("GET", _path(big_export), headers=_owner_headers(big_export))
    assert connection.getresponse().status == 200  # the headers came; the body waits for a relay thread
    connection.sock.close()
    connection.close()
    try:
        hdfs.wait_for_no_open_stream()
    finally:
        busy.set()
        saturated.shutdown()
