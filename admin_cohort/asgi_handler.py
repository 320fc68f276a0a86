"""Django's ASGI handler, serving every HTTP request with one thread hop.

Our views and middlewares are synchronous. Django's ASGI handler builds its middleware chain for async
code, so each request goes from the event loop to a thread for the middlewares, back to the loop for the
handler at the bottom of the chain, and to a thread again for the view. Here the chain is built for sync
code, as under WSGI, and the whole of it runs as one call in the request's thread. Reading the body and
sending the response (streamed ones included) stay on the event loop, as in Django.
"""

from __future__ import annotations

from asgiref.sync import sync_to_async
from django.core.handlers import base
from django.core.handlers.asgi import ASGIHandler


class SyncChainASGIHandler(ASGIHandler):
    def __init__(self) -> None:
        base.BaseHandler.__init__(self)
        self.load_middleware(is_async=False)

    async def get_response_async(self, request):
        # Thread-sensitive, as Django runs sync views: within the request's ThreadSensitiveContext, the
        # request's own thread, where its database connection lives.
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)
