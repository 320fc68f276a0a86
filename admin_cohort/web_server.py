"""The ASGI server of every mode: uvicorn, serving HTTP and the websocket (/ws/) on one port.

Production runs `python -m admin_cohort.web_server [uvicorn options]` (README): uvicorn's command line with
`SERVER_OPTIONS` and the application filled in. The embedded mode and the tests build the server here.

uvicorn rather than Daphne: it stops reading a streamed response while the client is slower than the source
(Daphne buffers the rest in memory, a whole archive for a slow download), and it costs less CPU per request
and per byte (bench/).
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

# Also the production command's flags: no lifespan events (Django has none), the sans-I/O websocket protocol, and
# no compression of websocket frames (short JSON pushes: deflating them costs more CPU than it saves bytes).
SERVER_OPTIONS = {"lifespan": "off", "ws": "websockets-sansio", "ws_per_message_deflate": False}
STARTUP_TIMEOUT = 20
APPLICATION = "admin_cohort.asgi:application"


def server(application, **options) -> uvicorn.Server:
    return uvicorn.Server(uvicorn.Config(application, **SERVER_OPTIONS, **options))


@contextmanager
def serving_in_thread(application, host: str = "127.0.0.1", **options) -> Iterator[str]:
    """`application` served from a thread of this process on a free port of `host`: yields `host:port`.
    `options`: uvicorn's, past SERVER_OPTIONS."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind((host, 0))
    instance = server(application, **{"log_level": "warning", "access_log": False, **options})
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [listener]}, name="asgi-server", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not instance.started and thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if not instance.started:
            raise RuntimeError("the ASGI server did not start")
        yield f"{host}:{listener.getsockname()[1]}"
    finally:
        instance.should_exit = True
        thread.join(timeout=10)
        listener.close()


def command_line(arguments: list[str]) -> list[str]:
    """uvicorn's arguments: SERVER_OPTIONS as flags, then the caller's (which may override them), then the app."""
    flags = [f"--{name.replace('_', '-')}={value}" for name, value in SERVER_OPTIONS.items()]
    return [*flags, *arguments, APPLICATION]


if __name__ == "__main__":
    uvicorn.main(command_line(sys.argv[1:]))
