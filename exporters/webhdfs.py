"""The HDFS storage of the CSV/XLSX archives, through WebHDFS (spec 02 §17.4, §17.5, spec 03 §8).

Authentication (STORAGE_PROVIDERS_AUTH): none, Hadoop's simple authentication (`user.name` on every request),
or Kerberos: SPNEGO with the process's ticket, by requests-gssapi, which a deployment installs with the system's
Kerberos libraries (a fresh machine has neither, hence not a requirement).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from urllib.parse import quote

import requests
from django.conf import settings

from admin_cohort.http import RawBody, http_session, raw_body
from admin_cohort.streaming import CHUNK_SIZE
from cohort_job_server.client import timed_out
from exporters.http import host_of, json_object
from exports.engine import StorageError, StorageUnavailable, StoredFile

_logger = logging.getLogger("info")


def _session() -> requests.Session:
    session = http_session(timeout=settings.EXTERNAL_API_TIMEOUT_SECONDS)
    if settings.STORAGE_PROVIDERS_AUTH == "kerberos":
        from requests_gssapi import OPTIONAL, HTTPSPNEGOAuth

        # Namenodes and datanodes do not all authenticate their answers: the ticket is what matters.
        session.auth = HTTPSPNEGOAuth(mutual_authentication=OPTIONAL)
    elif settings.STORAGE_PROVIDERS_AUTH == "simple":
        session.params = {"user.name": settings.STORAGE_PROVIDERS_USER}
    return session


def connect() -> WebHdfsStorage:
    """The storage of the first provider (namenode) answering a status request on `/`: the active one."""
    if not settings.STORAGE_PROVIDERS:
        raise StorageUnavailable("No storage provider is configured (STORAGE_PROVIDERS is not set)")
    session = _session()
    for base_url in settings.STORAGE_PROVIDERS:
        storage = WebHdfsStorage(session, base_url)
        try:
            storage.file_status("/")
        except StorageError as error:
            _logger.warning("Storage provider %s is not available: %s", host_of(base_url), error)
            continue
        return storage
    session.close()
    raise StorageUnavailable("No HDFS servers available")


class WebHdfsStorage:
    def __init__(self, session: requests.Session, base_url: str) -> None:
        self._session = session
        self._base_url = base_url.rstrip("/")

    def file_status(self, path: str) -> dict:
        response = self._call("GET", path, {"op": "GETFILESTATUS"})
        status = (json_object(response) or {}).get("FileStatus") if response.status_code == 200 else None
        if not isinstance(status, dict):
            raise StorageError(_remote_error(response))
        return status

    def open(self, path: str) -> StoredFile:
        """Once its chunks are exhausted or closed, or when it cannot be opened, no connection stays open."""
        try:
            status = self.file_status(path)
            if status.get("type") != "FILE" or not isinstance(status.get("length"), int):
                raise StorageError(f"{path} is not a file")
            # The namenode redirects to a datanode, which sends the content.
            response = self._call("GET", path, {"op": "OPEN", "offset": 0}, stream=True)
            if response.status_code != 200:
                with response:
                    raise StorageError(_remote_error(response))
        except StorageError:
            self.close()
            raise
        chunks = _Chunks(response, self)
        return StoredFile(size=status["length"], chunks=chunks, raw_body=chunks.raw_body)

    def delete(self, path: str) -> bool:
        """WebHDFS answers `{"boolean": false}` when there is no such file."""
        response = self._call("DELETE", path, {"op": "DELETE", "recursive": "false"})
        deleted = (json_object(response) or {}).get("boolean") if response.status_code == 200 else None
        if not isinstance(deleted, bool):
            raise StorageError(_remote_error(response))
        return deleted

    def close(self) -> None:
        """Closes the connections kept alive for the next requests (the storage stays usable)."""
        self._session.close()

    def _call(self, method: str, path: str, params: dict, **kwargs) -> requests.Response:
        url = f"{self._base_url}/webhdfs/v1{quote('/' + path.lstrip('/'))}"
        try:
            return self._session.request(method, url, params=params, **kwargs)
        except requests.RequestException as error:
            raise StorageError(_network_error(self._base_url, error)) from None


class _Chunks(Iterator[bytes]):
    """The content in chunks of at most CHUNK_SIZE bytes; closes the storage's connections once exhausted or closed.

    An iterator object rather than a generator: closing a generator that never started runs none of its code,
    which would leave the connection open when a client goes away before the first chunk."""

    def __init__(self, response: requests.Response, storage: WebHdfsStorage) -> None:
        self._response = response
        self._storage = storage
        self._chunks = response.iter_content(CHUNK_SIZE)

    def __next__(self) -> bytes:
        try:
            return next(self._chunks)
        except StopIteration:
            self.close()
            raise
        except requests.RequestException as error:
            self.close()
            raise StorageError(_network_error(self._response.url, error)) from None

    def raw_body(self) -> RawBody | None:
        """The content as the datanode sends it, unread (admin_cohort.http.raw_body): these chunks are then only to
        be closed."""
        return raw_body(self._response)

    def close(self) -> None:
        self._response.close()
        self._storage.close()


def _remote_error(response: requests.Response) -> str:
    """The message of a WebHDFS `RemoteException`, else the HTTP status."""
    remote = (json_object(response) or {}).get("RemoteException")
    if isinstance(remote, dict) and remote.get("message"):
        return str(remote["message"])
    return f"The storage provider answered HTTP {response.status_code}"


def _network_error(url: str, error: requests.RequestException) -> str:
    if timed_out(error):
        timeout = settings.EXTERNAL_API_TIMEOUT_SECONDS
        return f"The storage provider at {host_of(url)} did not answer within {timeout} seconds"
    return f"The storage provider at {host_of(url)} could not be reached ({type(error).__name__})"
