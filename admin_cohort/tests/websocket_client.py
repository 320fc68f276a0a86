"""A real websocket client for tests, speaking to the live ASGI server like Cohort360 does."""

from __future__ import annotations

import json
from contextlib import contextmanager

from websockets.sync.client import ClientConnection, connect

from admin_cohort.auth import jwt_tokens

# Long enough for a push to cross Redis and the ASGI server on a loaded machine; short enough to assert silence.
RECEIVE_TIMEOUT = 10
SILENCE_TIMEOUT = 1.5


@contextmanager
def open_socket(live_server_url: str, path: str = "/ws/"):
    # proxy=None: environment proxy settings must not intercept loopback connections.
    with connect(f"ws://{live_server_url}{path}", proxy=None, open_timeout=10) as socket:
        yield socket


def receive(socket: ClientConnection, timeout: float = RECEIVE_TIMEOUT) -> dict:
    return json.loads(socket.recv(timeout=timeout))


def assert_silent(socket: ClientConnection, timeout: float = SILENCE_TIMEOUT) -> None:
    """Nothing arrives within `timeout` (the socket may stay open)."""
    try:
        frame = socket.recv(timeout=timeout)
    except TimeoutError:
        return
    raise AssertionError(f"Unexpected websocket frame: {frame}")


def handshake(socket: ClientConnection, username: str, headers: dict | None = None) -> dict:
    frame: dict = {"token": jwt_tokens.issue_pair(username).access_token, "auth_method": "JWT"}
    if headers is not None:
        frame["headers"] = headers
    socket.send(json.dumps(frame))
    return receive(socket)


@contextmanager
def authenticated_socket(live_server_url: str, username: str):
    with open_socket(live_server_url) as socket:
        reply = handshake(socket, username)
        assert reply == {"type": "handshake", "status": "accepted", "details": ""}, reply
        yield socket
