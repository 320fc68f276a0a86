"""Django's ASGI handler, serving every HTTP request with one thread hop, on a thread kept for the next ones.

Our views and middlewares are synchronous. Django's ASGI handler builds its middleware chain for async
code, so each request goes from the event loop to a thread for the middlewares, back to the loop for the
handler at the bottom of the chain, and to a thread again for the view. Here the chain is built for sync
code, as under WSGI, and the whole of it runs as one call in the request's thread. Reading the body and
sending the response (streamed ones included) stay on the event loop, as in Django.

Django also starts a new thread for each request, and another one to join it afterwards. Here a request
takes an idle thread, kept from an earlier request, and gives it back when it is served.
"""

from __future__ import annotations

import itertools
from concurrent.futures import Future, ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler

from admin_cohort.zero_copy import EXTENSION as ZERO_COPY_SEND

# Threads kept idle at most: past this many requests at once, the extra threads end with their request.
IDLE_THREADS = 32
_numbers = itertools.count(1)


class RequestThread(ThreadPoolExecutor):
    """A single thread, as Django requires of the executor of a ThreadSensitiveContext (a request's calls all
    run on it, one at a time), which tells whether the last call it was given has ended."""

    def __init__(self) -> None:
        super().__init__(max_workers=1, thread_name_prefix=f"request-{next(_numbers)}")
        self._last: Future | None = None

    def submit(self, fn, /, *args, **kwargs) -> Future:
        self._last = super().submit(fn, *args, **kwargs)
        return self._last

    def idle(self) -> bool:
        return self._last is None or self._last.done()  # calls run in order: the last one ends last


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)
        self._idle: list[RequestThread] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        thread = self._idle.pop() if self._idle else RequestThread()
        try:
            async with ThreadSensitiveContext(executor=thread):
                await self.handle(scope, receive, send)
        finally:
            # Django's handler returns once the request's last call on its thread has ended, even for a client
            # that went away (it sends request_finished there, after the view). Checked all the same: a thread
            # still busy would make the next request wait, so it ends with its call instead.
            if thread.idle() and len(self._idle) < IDLE_THREADS:
                self._idle.append(thread)
            else:
                thread.shutdown(wait=False)

    async def send_response(self, response, send) -> None:
        body = getattr(response, "relayed_body", None)  # a RelayedResponse (admin_cohort.streaming)
        if body is None:
            await super().send_response(response, send)
            return

        async def send_relaying(message: dict) -> None:
            # Django ends a streamed response with an empty message: the relayed bytes go before it.
            if message["type"] == "http.response.body" and not message.get("more_body"):
                await send({"type": ZERO_COPY_SEND, "file": body.source, "count": body.length, "more_body": True})
            await send(message)

        await super().send_response(response, send_relaying)

    async def get_response_async(self, request):
        # Thread-sensitive, as Django runs sync views: within the request's ThreadSensitiveContext, the
        # request's own thread, where its database connection lives.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
