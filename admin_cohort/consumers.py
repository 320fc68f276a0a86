"""The websocket at /ws/: the client authenticates with its first JSON frame, then receives pushes.

Unlike upstream, an unknown `auth_method` is refused ("forbidden"), not left "pending": it can never succeed.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from admin_cohort.auth.errors import AuthError
from admin_cohort.auth.service import authenticate_token
from admin_cohort.services.ws_events import BROADCAST_GROUP, user_group

_logger = logging.getLogger("info")
MISSING_KEYS = 'Could not understand the JSON object, "token" key missing'


def _handshake(status: str, details: str = "") -> str:
    return json.dumps({"type": "handshake", "status": status, "details": details})


@database_sync_to_async
def _authenticate(token: str, method: str, headers: dict):
    return authenticate_token(token, method, headers)


# The subjects (job uuids) whose last push a socket has sent, so that a late earlier one is not sent after it.
ENDED_SUBJECTS_KEPT = 1000


class PushConsumer(AsyncWebsocketConsumer):
    groups_joined: list[str]

    async def connect(self):
        self.groups_joined = []
        self.ended_subjects: OrderedDict[str, None] = OrderedDict()
        await self.accept()

    async def receive(self, text_data=None, bytes_data=None):
        try:
            message = json.loads(text_data or "")
        except (ValueError, RecursionError):
            return  # non-JSON (or absurdly nested) frames are ignored
        if not isinstance(message, dict) or not isinstance(message.get("token"), str) or "auth_method" not in message:
            await self.send(_handshake("pending", MISSING_KEYS))
            return
        headers = message.get("headers") if isinstance(message.get("headers"), dict) else {}
        try:
            user = await _authenticate(message["token"], str(message["auth_method"]), headers)
        except Exception as error:  # any failure (bad token, refused impersonation…) is "forbidden"
            if not isinstance(error, AuthError):
                _logger.info("Websocket handshake refused: %s", error)
            await self.send(_handshake("forbidden", "Bad token"))
            await self.close()
            return
        await self._join([user_group(user.username), BROADCAST_GROUP])
        await self.send(_handshake("accepted"))

    async def _join(self, groups: list[str]) -> None:
        # A re-handshake as another user must stop the pushes meant for the previous one.
        for group in set(self.groups_joined) - set(groups):
            await self.channel_layer.group_discard(group, self.channel_name)
        for group in groups:
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = groups

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def push_event(self, event: dict):
        # Only authenticated sockets are in groups, so only they receive pushes.
        subject = event.get("subject")
        if subject is not None:
            if subject in self.ended_subjects:
                return  # e.g. a `started` that lost the race against its job's `finished`
            if event.get("last"):
                self.ended_subjects[subject] = None
                if len(self.ended_subjects) > ENDED_SUBJECTS_KEPT:
                    self.ended_subjects.popitem(last=False)
        await self.send(json.dumps(event["event"]))
