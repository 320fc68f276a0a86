from __future__ import annotations

from celery import shared_task
from django.conf import settings

from accesses.services import expiry_alerts, user_counters
from admin_cohort.periodic import once_per_tick


@shared_task(name="accesses.tasks.check_expiring_accesses")
@once_per_tick
def check_expiring_accesses() -> None:
    for days in (settings.ACCESS_EXPIRY_FIRST_ALERT_IN_DAYS, settings.ACCESS_EXPIRY_SECOND_ALERT_IN_DAYS):
        expiry_alerts.send_expiry_alerts(days)


@shared_task(name="accesses.tasks.count_users_on_perimeters")
@once_per_tick
def count_users_on_perimeters() -> None:
    user_counters.count_users_on_perimeters()
