"""ASGI's zero-copy send extension (`http.response.zerocopysend`) for uvicorn's httptools server.

A download relays a file from a storage service to the client. Streamed through the process, each byte is
copied twice, into the process and out of it, and on two cores those copies bound the download rate
(bench/exports_download.py). The extension lets the application hand the server a file descriptor (here the
socket the storage's answer arrives on) and a byte count: the kernel moves the bytes to the client's socket
through a pipe (splice), without the process reading them.

uvicorn does not implement the extension. `ZeroCopySend` does, around the application, for the connections
of uvicorn's httptools protocol over plain TCP (not TLS, which the kernel cannot relay), and reads the client
socket and the response's state from uvicorn's `RequestResponseCycle` (the owner of the `send` it is given):
uvicorn is pinned, and admin_cohort/tests/test_zero_copy.py fails if those change. Elsewhere (another server,
TLS, the tests' ASGI calls) the extension is not offered and responses stream as before.

The relay runs in a thread, which blocks in poll(), never the event loop. It works on duplicates of both
descriptors: if a connection closes meanwhile (the client goes away, Django closes the response), its
descriptor number may be given to another connection, which a duplicate can never reach.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import select
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

EXTENSION = "http.response.zerocopysend"
# What one splice moves at most: the pipe is grown to this (Linux's default limit for a pipe) when it may be.
PIPE_SIZE = 1024 * 1024
# A client that takes nothing for this long is dropped, which frees the relay's thread.
CLIENT_STALL_SECONDS = 300
# How soon a stopped relay notices it.
STOP_CHECK_SECONDS = 1.0
# Relays at once per process: each waits on the network, not the CPU; past this many, downloads queue.
RELAY_THREADS = 256
_relays = ThreadPoolExecutor(max_workers=RELAY_THREADS, thread_name_prefix="zero-copy")


class SourceError(OSError):
    """The source failed or ended before the announced count: the response cannot be completed."""


class ClientGone(OSError):  # noqa: N818 (reads as "raise ClientGone(...)")
    """The client closed the connection, or took nothing for CLIENT_STALL_SECONDS."""


class ZeroCopySend:
    """ASGI middleware offering `http.response.zerocopysend` to GET and HEAD requests where the connection allows
    it."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        cycle = getattr(send, "__self__", None)
        # Only a download may relay: the other requests (counts, callbacks…) skip the wrapping of their messages.
        if scope["type"] != "http" or scope["method"] not in ("GET", "HEAD") or not _relayable(cycle):
            await self.app(scope, receive, send)
            return
        scope = {**scope, "extensions": {**(scope.get("extensions") or {}), EXTENSION: {}}}
        await self.app(scope, receive, _Sender(cycle, send).send)


def _relayable(cycle) -> bool:
    if type(cycle) is not RequestResponseCycle:
        return False
    transport = cycle.transport
    return transport.get_extra_info("sslcontext") is None and transport.get_extra_info("socket") is not None


class _Sender:
    def __init__(self, cycle: RequestResponseCycle, send) -> None:
        self._cycle = cycle
        self._send = send
        self._client_gone = False

    async def send(self, message: dict) -> None:
        if self._client_gone:
            return  # as uvicorn drops what is sent to a client that went away
        if message["type"] != EXTENSION:
            await self._send(message)
            return
        await self._relay(message)
        if not message.get("more_body", False) and not self._client_gone:
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})

    async def _relay(self, message: dict) -> None:
        cycle = self._cycle
        if cycle.chunked_encoding or not cycle.response_started or cycle.response_complete:
            raise RuntimeError(f"'{EXTENSION}' needs a started response with a Content-Length")
        if cycle.scope["method"] == "HEAD":
            return  # headers only
        count = message.get("count")
        count = cycle.expected_content_length if count is None else count
        if count > cycle.expected_content_length:
            raise RuntimeError("Response content longer than Content-Length")
        if count == 0:
            return
        source = message["file"]
        try:
            await _written_out(cycle)
            job = RelayJob(
                source.fileno(),
                cycle.transport.get_extra_info("socket").fileno(),
                count,
                offset=message.get("offset"),
                # A socket's timeout is kept by Python, not by the kernel: the relay waits on it as long.
                source_timeout=source.gettimeout() if hasattr(source, "gettimeout") else None,
            )
        except OSError:  # the client went away
            self._drop_client()
            return
        relaying = _relays.submit(job.run)
        try:
            await asyncio.wrap_future(relaying)
        except ClientGone:
            self._drop_client()
            return
        except BaseException:  # the source failed, or the request was cancelled (the client went away)
            job.stop()
            if relaying.cancel():
                job.close()  # it never started, so will not close its descriptors itself
            cycle.transport.close()  # a response cut short must not look complete to the client
            raise
        cycle.expected_content_length -= count  # what uvicorn checks when the response ends

    def _drop_client(self) -> None:
        self._client_gone = True
        self._cycle.transport.close()


async def _written_out(cycle: RequestResponseCycle) -> None:
    """Waits until uvicorn has handed everything written so far (the headers) to the kernel, so that the relayed
    bytes follow them."""
    transport = cycle.transport
    for _ in range(CLIENT_STALL_SECONDS * 100):
        if transport.is_closing() or cycle.disconnected:
            raise ClientGone("the client went away")
        if not transport.get_write_buffer_size():
            return
        await asyncio.sleep(0.01)
    raise ClientGone("the client took nothing")


class RelayJob:
    """Moves `count` bytes from `source` (at `offset` for a file) to `client`, through a pipe, in the kernel.

    `run()` raises SourceError or ClientGone. It works on duplicates of both descriptors, which it closes: the
    originals may be closed meanwhile (a client that went away, a response closed by Django) and their numbers
    given to other connections, which a late splice must never touch. Both descriptors may be non-blocking:
    each side waits in poll(), the source for up to `source_timeout` seconds at a time, the client for up to
    CLIENT_STALL_SECONDS; `stop()` ends the wait within STOP_CHECK_SECONDS.
    """

    def __init__(
        self, source: int, client: int, count: int, *, offset: int | None = None, source_timeout: float | None = None
    ) -> None:
        self._source = os.dup(source)
        try:
            self._client = os.dup(client)
        except OSError:
            os.close(self._source)
            raise
        self._count = count
        self._offset = offset
        self._source_timeout = source_timeout
        self._stopped = threading.Event()

    def stop(self) -> None:
        self._stopped.set()

    def close(self) -> None:
        """Closes the duplicates: `run()` does it once it ran, and only then."""
        os.close(self._source)
        os.close(self._client)

    def run(self) -> None:
        try:
            read_end, write_end = os.pipe2(os.O_CLOEXEC)
            try:
                self._move(read_end, write_end)
            finally:
                os.close(read_end)
                os.close(write_end)
        finally:
            self.close()

    def _move(self, read_end: int, write_end: int) -> None:
        # Past the system's limit, the default pipe (64 KiB) stays: only more calls.
        with contextlib.suppress(OSError):
            fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, PIPE_SIZE)
        remaining = self._count
        while remaining:
            moved = self._splice(self._source, write_end, min(remaining, PIPE_SIZE), reading=True)
            remaining -= moved
            while moved:
                moved -= self._splice(read_end, self._client, moved, reading=False)

    def _splice(self, src: int, dst: int, length: int, *, reading: bool) -> int:
        offset = self._offset if reading else None
        waited_on, event = (src, select.POLLIN) if reading else (dst, select.POLLOUT)
        timeout = self._source_timeout if reading else CLIENT_STALL_SECONDS
        poller = None
        while not self._stopped.is_set():
            try:
                moved = os.splice(src, dst, length, offset_src=offset, flags=os.SPLICE_F_MOVE)
            except BlockingIOError:
                if poller is None:
                    poller = select.poll()
                    poller.register(waited_on, event)
                    deadline = None if timeout is None else time.monotonic() + timeout
                left = STOP_CHECK_SECONDS if deadline is None else min(deadline - time.monotonic(), STOP_CHECK_SECONDS)
                if left <= 0:
                    break
                poller.poll(left * 1000)
                continue
            except InterruptedError:
                continue
            except OSError as error:
                raise (SourceError if reading else ClientGone)(str(error)) from None
            if reading:
                if moved == 0:
                    raise SourceError("the source ended before the announced length")
                if offset is not None:
                    self._offset = offset + moved
            return moved
        if not self._stopped.is_set():
            raise SourceError("the source sent nothing") if reading else ClientGone("the client took nothing")
        raise ClientGone("the relay was stopped")
