"""Listening to a user's websocket group on the real channel layer (Redis), as a connected socket would."""

from __future__ import annotations

import asyncio
import threading

from channels.layers import get_channel_layer

from admin_cohort.services.ws_events import user_group


class GroupListener:
    """All channel-layer calls run on one event loop of its own: the Redis layer binds its buffers to a loop."""

    def __init__(self, username: str) -> None:
        self.layer = get_channel_layer()
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()
        self.channel = self._run(self.layer.new_channel())
        self._run(self.layer.group_add(user_group(username), self.channel))

    def _run(self, coroutine):
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result()

    def messages(self, timeout: float = 0.5) -> list[dict]:
        """Every event pushed so far (waiting at most `timeout` for each next one)."""

        async def drain() -> list[dict]:
            events = []
            while True:
                try:
                    message = await asyncio.wait_for(self.layer.receive(self.channel), timeout)
                except TimeoutError:
                    return events
                events.append(message["event"])

        return self._run(drain())
