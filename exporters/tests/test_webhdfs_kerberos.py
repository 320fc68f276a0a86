"""WebHDFS with Kerberos against a real KDC (tests.fakes.kerberos): the storage negotiates SPNEGO with the process's
ticket, as a deployment with `STORAGE_PROVIDERS_AUTH=kerberos` and a `kinit -kt` does, and fails clearly without
one. test_webhdfs.py checks the same wiring with a stand-in where Kerberos is not installed."""

from __future__ import annotations

import os

import pytest

from exporters.webhdfs import connect
from exports.engine import StorageUnavailable

ARCHIVE = "/exports/csv/a.zip"


def test_every_namenode_request_is_authenticated_as_the_ticket_holder(kerberized_webhdfs, kerberos):
    content = os.urandom(3_000_000)
    kerberized_webhdfs.write_file(ARCHIVE, content)
    storage = connect()
    stored = storage.open(ARCHIVE)
    assert stored.size == len(content)
    assert b"".join(stored.chunks) == content
    assert storage.delete(ARCHIVE) is True
    # the probe, the status and the OPEN of the download, the delete: each negotiated with the user's ticket
    assert kerberized_webhdfs.principals == [kerberos.user] * 4
    datanode = kerberized_webhdfs.requests_to(ARCHIVE.removeprefix("/exports"), "GET")[-1]
    assert datanode.path.startswith("/datanode/") and datanode.query["delegation"]


def test_without_a_ticket_the_storage_is_unavailable_and_says_so(kerberized_webhdfs, kerberos, monkeypatch, tmp_path):
    monkeypatch.setenv("KRB5CCNAME", f"FILE:{tmp_path / 'no-ticket'}")  # a deployment whose kinit did not run
    kerberized_webhdfs.write_file(ARCHIVE, b"zip")
    with pytest.raises(StorageUnavailable, match="No HDFS servers available"):
        connect()
    assert kerberized_webhdfs.principals == []
    assert kerberized_webhdfs.exists(ARCHIVE)
