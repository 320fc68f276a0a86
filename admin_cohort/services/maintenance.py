from __future__ import annotations

from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone

from admin_cohort.changed_columns import update_columns
from admin_cohort.lookups import one_or_none
from admin_cohort.models import MaintenancePhase
from admin_cohort.selectors import current_maintenance
from admin_cohort.services.ws_events import broadcast

NOTIFY_WINDOW = timedelta(minutes=1)


def maintenance_info(phase: MaintenancePhase, active: bool | None = None) -> dict:
    """The `info` object of the websocket `maintenance` message (Python ISO datetimes, `+00:00`)."""
    return {
        "id": phase.id,
        "subject": phase.subject,
        "maintenance_start": phase.start_datetime.astimezone(UTC).isoformat(),
        "maintenance_end": phase.end_datetime.astimezone(UTC).isoformat(),
        "active": phase.active if active is None else active,
        "type": phase.type,
        "message": phase.message,
    }


def notify(info: dict, forced_active: bool | None = None) -> bool:
    """Broadcast one maintenance message (after commit), `active` recomputed now unless forced (deletions).

    An "ended" message is dropped while another phase is running. Returns whether it was sent.
    """
    phase = one_or_none(MaintenancePhase.objects.filter(pk=info["id"]))
    if forced_active is not None:
        info = {**info, "active": forced_active}
    elif phase is None:
        # Deleted since the notification was scheduled: its deletion already told the clients.
        return False
    else:
        info = maintenance_info(phase)
    if not info["active"]:
        running = current_maintenance()
        if running is not None and running.id != info["id"]:
            return False
    broadcast({"type": "maintenance", "info": info})
    return True


@transaction.atomic
def create_phase(*, data: dict) -> MaintenancePhase:
    phase = MaintenancePhase.objects.create(**data)
    if _is_current(phase):
        notify(maintenance_info(phase))
    return phase


@transaction.atomic
def update_phase(*, phase: MaintenancePhase, data: dict) -> MaintenancePhase:
    was_current = _is_current(phase)
    update_columns(phase, data)
    # A phase moved out of the running window is announced too, so clients lift the maintenance.
    if was_current or _is_current(phase):
        notify(maintenance_info(phase))
    return phase


@transaction.atomic
def delete_phase(*, phase: MaintenancePhase) -> None:
    was_current = _is_current(phase)
    phase.delete()
    if was_current:
        notify(maintenance_info(phase), forced_active=False)


def _is_current(phase: MaintenancePhase) -> bool:
    return phase.start_datetime <= timezone.now() <= phase.end_datetime


def phases_to_notify() -> tuple[list[tuple[dict, datetime]], MaintenancePhase | None]:
    """What the once-a-minute checker schedules: (info, eta) for starts/ends in the window, and the current phase."""
    now = timezone.now()
    low, high = now - NOTIFY_WINDOW, now + NOTIFY_WINDOW
    scheduled = []
    for phase in MaintenancePhase.objects.filter(start_datetime__range=(low, high)):
        scheduled.append((maintenance_info(phase, active=True), phase.start_datetime))
    for phase in MaintenancePhase.objects.filter(end_datetime__range=(low, high)):
        scheduled.append((maintenance_info(phase, active=False), phase.end_datetime))
    return scheduled, current_maintenance()
