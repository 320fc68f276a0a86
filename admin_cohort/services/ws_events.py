"""Pushing events to websocket clients: to one user's sockets, or to every connected socket.

Events are sent after the current transaction commits, so a client never hears of a change that was
rolled back, nor reads the database before the change is visible.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import threading

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import transaction

_logger = logging.getLogger("info")
BROADCAST_GROUP = "__all__"
PUSH_TIMEOUT = 5
_loop_lock = threading.Lock()
_loop: tuple[int, asyncio.AbstractEventLoop] | None = None
_GROUP_SAFE = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")


def user_group(username: str) -> str:
    """Channel-layer group names allow few characters: other usernames are hashed."""
    if _GROUP_SAFE.match(username):
        return f"user.{username}"
    return f"user.h.{hashlib.sha256(username.encode()).hexdigest()[:40]}"


def send_now(group: str, message: dict, *, subject: str | None = None, last: bool = False) -> None:
    event = {"type": "push.event", "event": message}
    if subject is not None:
        event.update(subject=subject, last=last)
    layer = get_channel_layer()
    try:
        if isinstance(layer, InMemoryChannelLayer):
            # Embedded mode: the layer lives in the server's loop, which async_to_sync reaches from its threads.
            async_to_sync(layer.group_send)(group, event)
        else:
            asyncio.run_coroutine_threadsafe(layer.group_send(group, event), _pushing_loop()).result(PUSH_TIMEOUT)
    except Exception:  # the socket layer being down must not fail the business operation
        _logger.exception("Could not push a websocket event to %s", group)


def _pushing_loop() -> asyncio.AbstractEventLoop:
    """This process's event loop for pushes, in a daemon thread: the channel layer's connections to Redis are kept
    from push to push, where async_to_sync outside a server (a Celery task) makes a loop and connects each time."""
    global _loop
    with _loop_lock:
        if _loop is None or _loop[0] != os.getpid():  # a forked worker process starts its own
            loop = asyncio.new_event_loop()
            threading.Thread(target=loop.run_forever, name="websocket-pushes", daemon=True).start()
            _loop = (os.getpid(), loop)
        return _loop[1]


def push_to_user(username: str, message: dict, *, subject: str | None = None, last: bool = False) -> None:
    """`subject`: what the message is about (a job's uuid). Pushes about one subject come from several processes
    (the worker says `started`, the web process `finished`), so they may arrive out of order; a socket drops those
    that arrive after the one marked `last`."""
    group = user_group(username)
    transaction.on_commit(lambda: send_now(group, message, subject=subject, last=last))


def broadcast(message: dict) -> None:
    transaction.on_commit(lambda: send_now(BROADCAST_GROUP, message))
