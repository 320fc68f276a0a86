"""The tasks waiting in this run's Celery queue, for tests where no worker runs: what was queued, and for what."""

from __future__ import annotations

import base64
import json

import pytest
import redis
from django.conf import settings


def queued_tasks() -> list[tuple[str, list]]:
    """(task name, positional arguments) of the queued tasks, oldest first."""
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    messages = [json.loads(raw) for raw in reversed(broker.lrange(settings.CELERY_TASK_DEFAULT_QUEUE, 0, -1))]
    return [(message["headers"]["task"], json.loads(base64.b64decode(message["body"]))[0]) for message in messages]


@pytest.fixture(autouse=True)
def empty_task_queue():
    redis.Redis.from_url(settings.CELERY_BROKER_URL).delete(settings.CELERY_TASK_DEFAULT_QUEUE)
