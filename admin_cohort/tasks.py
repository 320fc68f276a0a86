from __future__ import annotations

from celery import shared_task

from admin_cohort.periodic import once_per_tick
from admin_cohort.services import maintenance


@shared_task(name="admin_cohort.tasks.maintenance_notifier_checker")
@once_per_tick
def maintenance_notifier_checker() -> None:
    scheduled, current = maintenance.phases_to_notify()
    for info, eta in scheduled:
        maintenance_notifier.apply_async(args=[info], eta=eta)
    if current is not None:
        maintenance_notifier.delay(maintenance.maintenance_info(current))


@shared_task(name="admin_cohort.tasks.maintenance_notifier")
def maintenance_notifier(info: dict, forced_active: bool | None = None) -> None:
    maintenance.notify(info, forced_active=forced_active)
