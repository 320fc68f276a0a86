"""Responses streamed from a blocking source (a file on a storage service) without holding it in memory.

Django serves a streaming response chunk by chunk only when its iterator matches the server's kind: under
ASGI a plain iterator is first read whole into a list (and under WSGI an async one is), which for an
exported archive of several GB means several GB of memory. `streaming_response` hands each server the kind
it iterates lazily.
"""

from __future__ import annotations

from collections.abc import Iterator

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpRequest, StreamingHttpResponse

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


def streaming_response(request: HttpRequest, chunks: Iterator[bytes], **kwargs) -> StreamingHttpResponse:
    """A response sending `chunks` one at a time under both ASGI and WSGI servers."""
    request = getattr(request, "_request", request)  # a DRF Request wraps Django's
    content = AsyncChunks(chunks) if isinstance(request, ASGIRequest) else chunks
    return StreamingHttpResponse(content, **kwargs)
