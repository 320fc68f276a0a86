from __future__ import annotations

from dataclasses import asdict

from celery import shared_task

from accesses_perimeters.services.sync import sync_perimeters
from admin_cohort.periodic import once_per_tick


@shared_task(name="accesses_perimeters.tasks.perimeters_daily_update")
@once_per_tick
def perimeters_daily_update() -> dict:
    return asdict(sync_perimeters())
