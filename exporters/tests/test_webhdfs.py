"""The WebHDFS storage of the CSV/XLSX archives against fake namenodes (spec 02 §17.4, §17.5, spec 03 §8)."""

from __future__ import annotations

import hashlib
import sys
import time
import types

import pytest
import requests

from admin_cohort.streaming import CHUNK_SIZE
from exports.engine import StorageError, StorageUnavailable, export_engine
from tests.fakes.http_server import Reply, closed_port_url
from tests.fakes.webhdfs import FakeWebHdfs

ARCHIVE = "/exports/csv/1234567_20260112_102030123456.zip"


@pytest.fixture
def standby():
    """A namenode in standby, listed before the active one."""
    with FakeWebHdfs() as fake:
        fake.standby = True
        yield fake


def storage_error(call) -> str:
    with pytest.raises(StorageError) as raised:
        call()
    return str(raised.value)


class TestProviders:
    def test_the_first_provider_answering_is_used(self, settings, standby, webhdfs):
        settings.STORAGE_PROVIDERS = [standby.url, webhdfs.url]
        webhdfs.write_file(ARCHIVE, b"zip")

        stored = export_engine().storage().open(ARCHIVE)

        assert b"".join(stored.chunks) == b"zip"
        assert [(r.method, r.path, r.query) for r in standby.requests] == [
            ("GET", "/webhdfs/v1/", {"op": ["GETFILESTATUS"]})
        ]
        assert webhdfs.requests_to(ARCHIVE, "GET")

    def test_an_unreachable_provider_is_skipped(self, settings, webhdfs):
        settings.STORAGE_PROVIDERS = [closed_port_url(), webhdfs.url]
        webhdfs.write_file(ARCHIVE, b"zip")
        assert export_engine().storage().open(ARCHIVE).size == 3

    def test_no_provider_answering(self, settings, standby):
        settings.STORAGE_PROVIDERS = [standby.url, closed_port_url()]
        with pytest.raises(StorageUnavailable) as raised:
            export_engine().storage()
        assert str(raised.value) == "No HDFS servers available"

    def test_a_provider_answering_something_else_than_webhdfs_is_not_used(self, settings, export_api):
        settings.STORAGE_PROVIDERS = [export_api.url]
        with pytest.raises(StorageUnavailable, match="No HDFS servers available"):
            export_engine().storage()

    def test_no_provider_configured(self, settings):
        settings.STORAGE_PROVIDERS = []
        with pytest.raises(StorageUnavailable) as raised:
            export_engine().storage()
        assert str(raised.value) == "No storage provider is configured (STORAGE_PROVIDERS is not set)"


class TestDownload:
    def test_a_large_file_is_streamed_in_chunks_of_at_most_a_million_bytes(self, webhdfs):
        content = bytes(range(256)) * (50 * 4096)  # 50 MiB
        webhdfs.write_file(ARCHIVE, content)

        stored = export_engine().storage().open(ARCHIVE)
        digest, sizes = hashlib.sha256(), []
        for chunk in stored.chunks:
            digest.update(chunk)
            sizes.append(len(chunk))

        assert stored.size == len(content) == sum(sizes)
        assert max(sizes) <= CHUNK_SIZE
        assert digest.digest() == hashlib.sha256(content).digest()
        webhdfs.wait_for_no_open_stream()

    def test_the_namenode_gives_the_size_and_sends_the_client_to_the_datanode(self, webhdfs):
        webhdfs.write_file(ARCHIVE, b"zip")
        b"".join(export_engine().storage().open(ARCHIVE).chunks)
        assert [(r.path, r.query) for r in webhdfs.requests] == [
            ("/webhdfs/v1/", {"op": ["GETFILESTATUS"]}),
            (f"/webhdfs/v1{ARCHIVE}", {"op": ["GETFILESTATUS"]}),
            (f"/webhdfs/v1{ARCHIVE}", {"op": ["OPEN"], "offset": ["0"]}),
            (f"/datanode/webhdfs/v1{ARCHIVE}", {"op": ["OPEN"], "offset": ["0"]}),
        ]

    def test_a_download_stopped_early_closes_the_connection(self, webhdfs):
        webhdfs.create_file(ARCHIVE, 1_000_000_000)
        stored = export_engine().storage().open(ARCHIVE)
        assert stored.size == 1_000_000_000
        assert 0 < len(next(stored.chunks)) <= CHUNK_SIZE

        stored.chunks.close()

        webhdfs.wait_for_no_open_stream()

    def test_a_download_stopped_before_its_first_chunk_closes_the_connection(self, webhdfs):
        webhdfs.create_file(ARCHIVE, 1_000_000_000)
        stored = export_engine().storage().open(ARCHIVE)
        stored.chunks.close()
        webhdfs.wait_for_no_open_stream()

    def test_a_file_read_to_the_end_leaves_no_connection_open(self, webhdfs):
        # Kept alive, the namenode's connection would stay open as long as the file object lives.
        webhdfs.write_file(ARCHIVE, b"zip")
        stored = export_engine().storage().open(ARCHIVE)
        assert b"".join(stored.chunks) == b"zip"
        webhdfs.wait_for_no_open_connection()

    def test_a_file_closed_before_its_end_leaves_no_connection_open(self, webhdfs):
        webhdfs.create_file(ARCHIVE, 100_000_000)
        stored = export_engine().storage().open(ARCHIVE)
        next(stored.chunks)
        stored.chunks.close()
        webhdfs.wait_for_no_open_connection()

    def test_a_file_that_cannot_be_opened_leaves_no_connection_open(self, webhdfs):
        storage = export_engine().storage()
        storage_error(lambda: storage.open("/exports/csv/gone.zip"))
        webhdfs.wait_for_no_open_connection()

    def test_a_missing_file(self, webhdfs):
        reason = storage_error(lambda: export_engine().storage().open("/exports/csv/gone.zip"))
        assert reason == "File does not exist: /exports/csv/gone.zip"

    def test_a_directory_is_not_downloadable(self, webhdfs):
        webhdfs.write_file(ARCHIVE, b"zip")
        reason = storage_error(lambda: export_engine().storage().open("/exports/csv"))
        assert reason == "/exports/csv is not a file"

    def test_a_provider_failing_after_the_connection(self, webhdfs):
        webhdfs.write_file(ARCHIVE, b"zip")
        storage = export_engine().storage()
        webhdfs.standby = True
        reason = storage_error(lambda: storage.open(ARCHIVE))
        assert reason == "Operation category READ is not supported in state standby"

    def test_an_archive_left_by_the_export_api(self, export_api, csv_export):
        """End to end: the fake Export API leaves the archive where the parameter document said."""
        (step,) = export_engine().steps(csv_export)
        task_id = step.start(csv_export)
        assert [step.poll(task_id) for _ in range(3)][-1] == "finished"

        stored = export_engine().storage().open(f"{csv_export.target_full_path}.zip")

        assert stored.size == export_api.archive_size == len(b"".join(stored.chunks))


class TestDeletion:
    def test_a_file_is_deleted(self, webhdfs):
        webhdfs.write_file(ARCHIVE, b"zip")
        assert export_engine().storage().delete(ARCHIVE) is True
        assert not webhdfs.exists(ARCHIVE)
        (request,) = webhdfs.requests_to(ARCHIVE, "DELETE")
        assert request.query == {"op": ["DELETE"], "recursive": ["false"]}

    def test_a_missing_file_is_no_error(self, webhdfs):
        assert export_engine().storage().delete(ARCHIVE) is False

    def test_a_provider_failing_after_the_connection(self, webhdfs):
        webhdfs.write_file(ARCHIVE, b"zip")
        storage = export_engine().storage()
        webhdfs.standby = True
        assert storage_error(lambda: storage.delete(ARCHIVE)) == (
            "Operation category READ is not supported in state standby"
        )
        assert webhdfs.exists(ARCHIVE)

    def test_a_provider_answering_too_late(self, webhdfs, settings):
        settings.EXTERNAL_API_TIMEOUT_SECONDS = 0.5
        storage = export_engine().storage()
        webhdfs.route("DELETE", "/webhdfs/v1/exports/csv/{name}", lambda request, name: time.sleep(2) or Reply())
        reason = storage_error(lambda: storage.delete(ARCHIVE))
        assert reason.startswith("The storage provider at 127.0.0.1:")
        assert reason.endswith("did not answer within 0.5 seconds")


class TestAuthentication:
    def test_without_authentication_requests_name_nobody(self, webhdfs):
        webhdfs.write_file(ARCHIVE, b"zip")
        b"".join(export_engine().storage().open(ARCHIVE).chunks)
        assert all("user.name" not in r.query and "Authorization" not in r.headers for r in webhdfs.requests)

    def test_simple_authentication_names_the_user_to_the_namenode(self, webhdfs, settings):
        settings.STORAGE_PROVIDERS_AUTH, settings.STORAGE_PROVIDERS_USER = "simple", "cohort360"
        webhdfs.write_file(ARCHIVE, b"zip")
        storage = export_engine().storage()
        b"".join(storage.open(ARCHIVE).chunks)
        storage.delete(ARCHIVE)
        namenode = [r for r in webhdfs.requests if r.path.startswith("/webhdfs/")]
        assert len(namenode) == 4  # probe, status, open, delete
        assert all(r.query["user.name"] == ["cohort360"] for r in namenode)

    def test_kerberos_authenticates_every_request_with_spnego(self, webhdfs, settings, monkeypatch):
        """Where Kerberos is not installed too: a stand-in of requests-gssapi with its interface signs the requests
        as it would, so that what reaches the namenode is checked (test_webhdfs_kerberos.py runs a real KDC)."""
        settings.STORAGE_PROVIDERS_AUTH = "kerberos"
        monkeypatch.setitem(sys.modules, "requests_gssapi", _spnego_stand_in())
        webhdfs.write_file(ARCHIVE, b"zip")
        assert b"".join(export_engine().storage().open(ARCHIVE).chunks) == b"zip"
        assert webhdfs.requests and all(
            r.headers.get("Authorization") == "Negotiate dGlja2V0" for r in webhdfs.requests
        )


def _spnego_stand_in() -> types.ModuleType:
    class HTTPSPNEGOAuth(requests.auth.AuthBase):
        def __init__(self, mutual_authentication):
            assert mutual_authentication == "optional"

        def __call__(self, request):
            request.headers["Authorization"] = "Negotiate dGlja2V0"
            return request

    module = types.ModuleType("requests_gssapi")
    module.HTTPSPNEGOAuth, module.OPTIONAL = HTTPSPNEGOAuth, "optional"
    return module
