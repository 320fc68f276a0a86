"""Thin Celery tasks: each calls one service. Task arguments are JSON (uuids as strings)."""

from __future__ import annotations

from celery import shared_task

from admin_cohort.periodic import once_per_tick
from exports.services import cleanup, workflow


@shared_task(name="exports.tasks.launch_export")
def launch_export(export_pk: str) -> None:
    workflow.launch(export_pk)


@shared_task(name="exports.tasks.poll_exports")
def poll_exports() -> None:
    workflow.poll_exports()


@shared_task(name="exports.tasks.delete_exported_files")
@once_per_tick
def delete_exported_files() -> None:
    cleanup.delete_expired_files()
