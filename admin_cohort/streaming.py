"""Responses streamed from a blocking source (a file on a storage service) without holding it in memory.

Django serves a streaming response chunk by chunk only when its iterator matches the server's kind: under
ASGI a plain iterator is first read whole into a list (and under WSGI an async one is), which for an
exported archive of several GB means several GB of memory. `streaming_response` hands each server the kind
it iterates lazily.

Where the ASGI server offers the zero-copy send extension (admin_cohort.zero_copy: production's uvicorn over
plain TCP) and the source's body arrives as is on a socket, the body is not read by the process at all: the
response carries the source socket (`RelayedResponse`), and the server relays it in the kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

from admin_cohort.http import RawBody
from admin_cohort.zero_copy import EXTENSION as ZERO_COPY_SEND

# What a streamed response's source reads and the server sends at a time. Fewer, larger chunks cost the web
# process less CPU per GB (each is one thread hop, one ASGI message, one send); past 2 MB the gain stops and
# the chunks a slow client leaves queued start to show in memory (bench/exports_download.py: per GB, 1.0 CPU
# second with 1 MB chunks, 0.5 to 0.7 with 2 MB, no better with 4 to 16 MB, which add 20 to 45 MiB of peak memory).
CHUNK_SIZE = 2_000_000


class AsyncChunks:
    """The chunks of a blocking iterator, each read in a worker thread so that the event loop never waits.

    `close()` is what Django's response calls once served (or when the client went away before the first
    chunk), so the source's connection is released in every case.
    """

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self._chunks = chunks
        # Not thread-sensitive: the reads need no database connection, and must not queue behind the
        # requests' synchronous work on the one thread-sensitive executor.
        self._next = sync_to_async(next, thread_sensitive=False)

    def __aiter__(self) -> AsyncChunks:
        return self

    async def __anext__(self) -> bytes:
        chunk = await self._next(self._chunks, None)
        if chunk is None:
            raise StopAsyncIteration
        return chunk

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()


class _Head:
    """A relayed response's content as Django sends it: the bytes already read from the source, once. Closing
    it closes the source (Django closes a response's content once the response is served)."""

    def __init__(self, head: bytes, close: Callable[[], None]) -> None:
        self._head: bytes | None = head
        self.close = close

    def __aiter__(self) -> _Head:
        return self

    async def __anext__(self) -> bytes:
        if not self._head:
            raise StopAsyncIteration
        head, self._head = self._head, None
        return head


class RelayedResponse(StreamingHttpResponse):
    """Sent by admin_cohort.asgi_handler: its content, then the rest of `body` through the zero-copy send."""

    def __init__(self, body: RawBody, close: Callable[[], None], **kwargs) -> None:
        super().__init__(_Head(body.head, close), **kwargs)
        self.relayed_body = body


def streaming_response(
    request: HttpRequest,
    chunks: Iterator[bytes],
    *,
    raw_body: Callable[[], RawBody | None] | None = None,
    **kwargs,
) -> StreamingHttpResponse:
    """A response sending `chunks` one at a time under both ASGI and WSGI servers; with `raw_body`, which gives
    the source's body as is when it can (the rest of `chunks` then), relayed by the kernel where the server can."""
    request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    if not isinstance(request, ASGIRequest):
        return StreamingHttpResponse(chunks, **kwargs)
    if raw_body is not None and ZERO_COPY_SEND in (request.scope.get("extensions") or {}):
        body = raw_body()
        if body is not None:
            return RelayedResponse(body, getattr(chunks, "close", lambda: None), **kwargs)
    return StreamingHttpResponse(AsyncChunks(chunks), **kwargs)
