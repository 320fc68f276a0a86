"""A fake WebHDFS namenode and datanode (spec 03 §8.3) over a file tree in a temporary directory.

    with FakeWebHdfs() as hdfs:
        settings.STORAGE_PROVIDERS = [hdfs.url]
        hdfs.create_file("/exports/csv/a.zip", 1_000_000_000)   # sparse: instant, takes no disk space
        hdfs.write_file("/exports/csv/b.zip", b"content")

`GETFILESTATUS`, `OPEN` (307 to the datanode, on the same server, which streams the file from disk) and
`DELETE` (`{"boolean": false}` for a missing file, as HDFS answers); missing files get 404 with a
`FileNotFoundException`. `standby = True` makes the namenode answer every request 403 with a
`StandbyException`, as the standby namenode of a pair does. `streams` counts the files being sent.

`Authorization` headers are ignored, unless `kerberos=True`, with a realm of tests.fakes.kerberos in the process's
environment: then, as a Hadoop namenode with Kerberos, the namenode answers 401 `WWW-Authenticate: Negotiate` to
a request without a valid SPNEGO token and records who each accepted one names (`principals`); it sends readers
to the datanode with a delegation token, which the datanode requires. (Hadoop's `hadoop.auth` cookie, which spares
later requests the negotiation, is not modelled: every namenode request negotiates.)
"""

from __future__ import annotations

import re
import secrets
import ssl
import tempfile
from collections.abc import Generator
from pathlib import Path
from urllib.parse import quote, unquote

from tests.fakes.http_server import FakeServer, Gauge, RecordedRequest, Reply, StreamingReply, _Route
from tests.fakes.kerberos import accept_negotiate

_SEND_SIZE = 64 * 1024


def _remote_exception(status: int, exception: str, message: str) -> Reply:
    return Reply(
        status=status,
        json={
            "RemoteException": {"exception": exception, "javaClassName": f"org.apache.{exception}", "message": message}
        },
    )


class FakeWebHdfs(FakeServer):
    def __init__(self, *, tls: ssl.SSLContext | None = None, kerberos: bool = False) -> None:
        super().__init__(tls=tls)
        self.standby = False
        self.kerberos = kerberos
        self.principals: list[str] = []
        self._delegation_tokens: set[str] = set()
        self.streams = Gauge("file(s) still being sent")
        self._directory = tempfile.TemporaryDirectory(prefix="fake-webhdfs-")
        self.root = Path(self._directory.name)
        # WebHDFS paths have any depth, and `route()` placeholders match one segment.
        with self._lock:
            self._routes.append(_Route("GET", re.compile(r"^/webhdfs/v1(?P<path>/.*)$"), self._namenode))
            self._routes.append(_Route("DELETE", re.compile(r"^/webhdfs/v1(?P<path>/.*)$"), self._namenode))
            self._routes.append(_Route("GET", re.compile(r"^/datanode/webhdfs/v1(?P<path>/.*)$"), self._datanode))

    def stop(self) -> None:
        super().stop()
        self._directory.cleanup()

    # -- the file tree -------------------------------------------------------------------------------

    def local_path(self, path: str) -> Path:
        """Where an HDFS path (as given, or as found percent-encoded in a request) is on disk."""
        local = (self.root / unquote(path).lstrip("/")).resolve()
        if local != self.root.resolve() and self.root.resolve() not in local.parents:
            raise ValueError(f"{path} is outside the file tree")
        return local

    def create_file(self, path: str, size: int) -> None:
        """A file of `size` zero bytes, sparse so that even a huge one is created at once."""
        local = self.local_path(path)
        local.parent.mkdir(parents=True, exist_ok=True)
        with local.open("wb") as file:
            file.truncate(size)

    def write_file(self, path: str, content: bytes) -> None:
        local = self.local_path(path)
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(content)

    def exists(self, path: str) -> bool:
        return self.local_path(path).exists()

    def wait_for_no_open_stream(self, timeout: float = 10) -> None:
        self.streams.wait_for_zero(timeout)

    # -- endpoints -----------------------------------------------------------------------------------

    def _namenode(self, request: RecordedRequest, path: str) -> Reply:
        if not self.kerberos:
            return self._namenode_operation(request, path)
        principal, answer = accept_negotiate(request.headers.get("Authorization"))
        if principal is None:
            reply = _remote_exception(401, "AuthenticationException", "Authentication required")
            reply.headers["WWW-Authenticate"] = "Negotiate"
            return reply
        with self._lock:
            self.principals.append(principal)
        reply = self._namenode_operation(request, path)
        if answer:
            reply.headers["WWW-Authenticate"] = f"Negotiate {answer}"
        return reply

    def _namenode_operation(self, request: RecordedRequest, path: str) -> Reply:
        if self.standby:
            return _remote_exception(
                403, "StandbyException", "Operation category READ is not supported in state standby"
            )
        operation = request.query.get("op", [""])[-1].upper()
        try:
            local = self.local_path(path)
        except ValueError as error:
            return _remote_exception(400, "IllegalArgumentException", str(error))
        if request.method == "DELETE" and operation == "DELETE":
            return self._delete(local)
        if operation not in ("GETFILESTATUS", "OPEN"):
            return _remote_exception(
                400, "IllegalArgumentException", f"Invalid value for webhdfs parameter op: {operation}"
            )
        if not local.exists():
            return _remote_exception(404, "FileNotFoundException", f"File does not exist: {unquote(path)}")
        if operation == "GETFILESTATUS":
            return Reply(json={"FileStatus": _file_status(local)})
        location = f"{self.url}/datanode/webhdfs/v1{quote(unquote(path))}?op=OPEN&offset=0"
        if self.kerberos:
            token = secrets.token_urlsafe(16)
            with self._lock:
                self._delegation_tokens.add(token)
            location += f"&delegation={token}"
        return Reply(status=307, headers={"Location": location})

    def _delete(self, local: Path) -> Reply:
        if local.is_file():
            local.unlink()
            return Reply(json={"boolean": True})
        return Reply(json={"boolean": False})

    def _datanode(self, request: RecordedRequest, path: str) -> Reply | StreamingReply:
        if self.kerberos:
            with self._lock:
                known = request.query.get("delegation", [""])[-1] in self._delegation_tokens
            if not known:
                return _remote_exception(403, "InvalidToken", "Delegation token is missing or unknown")
        local = self.local_path(path)
        if not local.is_file():
            return _remote_exception(404, "FileNotFoundException", f"File does not exist: {path}")
        return StreamingReply(
            length=local.stat().st_size,
            chunks=self._file_chunks(local),
            headers={"Content-Type": "application/octet-stream"},
        )

    def _file_chunks(self, local: Path) -> Generator[bytes, None, None]:
        self.streams.change(+1)
        try:
            with local.open("rb") as file:
                while chunk := file.read(_SEND_SIZE):
                    yield chunk
        finally:
            self.streams.change(-1)


def _file_status(local: Path) -> dict:
    stat = local.stat()
    return {
        "accessTime": int(stat.st_atime * 1000),
        "blockSize": 134217728,
        "childrenNum": len(list(local.iterdir())) if local.is_dir() else 0,
        "fileId": stat.st_ino,
        "group": "hdfs",
        "length": stat.st_size if local.is_file() else 0,
        "modificationTime": int(stat.st_mtime * 1000),
        "owner": "hdfs",
        "pathSuffix": "",
        "permission": "644" if local.is_file() else "755",
        "replication": 3 if local.is_file() else 0,
        "storagePolicy": 0,
        "type": "FILE" if local.is_file() else "DIRECTORY",
    }
