"""Queueing a job's task once the row is committed; a broker that cannot take it fails the job at once."""

from __future__ import annotations

import logging

from django.db import transaction

from cohort.models import JobModel
from cohort.services import jobs

_logger = logging.getLogger("info")


def queue_after_commit(model: type[JobModel], pk, task_name: str, *args) -> None:
    def send() -> None:
        from admin_cohort.celery import app

        try:
            # Nothing reads a job task's result: without ignore_result, Celery would subscribe this process
            # to the result's Redis channel for every task queued (and unsubscribe when it is collected).
            # The arguments carry the caller's credentials: their text (the `argsrepr` that broker monitors show
            # and Celery logs when a task fails) names the job only.
            app.send_task(task_name, args=args, ignore_result=True, argsrepr=f"({model.__name__} {pk}, …)")
        except Exception as error:  # broker down: the job must not wait for a task that will never run
            _logger.exception("Could not queue %s for %s %s", task_name, model.__name__, pk)
            jobs.fail(model, pk, f"The task queue is unreachable, the job could not start ({error.__class__.__name__})")

    transaction.on_commit(send)
