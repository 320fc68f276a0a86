"""Races with a concurrent transaction, played for real on PostgreSQL (tests marked `transaction=True`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import connection, transaction

WAIT_SECONDS = 10


def while_a_write_is_uncommitted(write: Callable[[], Any], call: Callable[[], Any]) -> Any:
    """What `call` returns when it runs while another transaction has done `write` but not committed yet, and
    that transaction commits once `call` waits on it: `call` read the rows as they were before `write` (an
    insert the check of a unique index did not see, a row changed since it was read) and then had to wait.

    Fails when `call` never waited: the race did not happen."""
    written, release, outcome = threading.Event(), threading.Event(), {}

    def concurrent_writer() -> None:
        with transaction.atomic():
            write()
            written.set()
            release.wait(WAIT_SECONDS)
        connection.close()

    def caller() -> None:
        outcome["result"] = call()
        connection.close()

    writer = threading.Thread(target=concurrent_writer)
    writer.start()
    assert written.wait(WAIT_SECONDS)
    calling = threading.Thread(target=caller)
    calling.start()
    _wait_until_a_query_waits_on_a_lock()
    release.set()
    writer.join(WAIT_SECONDS)
    calling.join(WAIT_SECONDS)
    return outcome["result"]


def _wait_until_a_query_waits_on_a_lock() -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("The call never waited on the concurrent write")
