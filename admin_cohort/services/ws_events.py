"""Pushing events to websocket clients: to one user's sockets, or to every connected socket.

Events are sent after the current transaction commits, so a client never hears of a change that was
rolled back, nor reads the database before the change is visible.
"""

from __future__ import annotations

import hashlib
import logging
import re

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

_logger = logging.getLogger("info")
BROADCAST_GROUP = "__all__"
_GROUP_SAFE = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")


def user_group(username: str) -> str:
    """Channel-layer group names allow few characters: other usernames are hashed."""
    if _GROUP_SAFE.match(username):
        return f"user.{username}"
    return f"user.h.{hashlib.sha256(username.encode()).hexdigest()[:40]}"


def send_now(group: str, message: dict) -> None:
    try:
        async_to_sync(get_channel_layer().group_send)(group, {"type": "push.event", "event": message})
    except Exception:  # the socket layer being down must not fail the business operation
        _logger.exception("Could not push a websocket event to %s", group)


def push_to_user(username: str, message: dict) -> None:
    group = user_group(username)
    transaction.on_commit(lambda: send_now(group, message))


def broadcast(message: dict) -> None:
    transaction.on_commit(lambda: send_now(BROADCAST_GROUP, message))
