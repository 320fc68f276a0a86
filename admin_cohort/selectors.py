"""Reads of the core models."""

from __future__ import annotations

import threading
import time

from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save
from django.utils import timezone

from admin_cohort import rights
from admin_cohort.models import MaintenancePhase, User
from admin_cohort.plugins import rights as rights_provider


def current_maintenance() -> MaintenancePhase | None:
    now = timezone.now()
    return (
        MaintenancePhase.objects.filter(start_datetime__lte=now, end_datetime__gte=now)
        .order_by("-end_datetime", "id")
        .first()
    )


# How long this process's gate trusts the phases it read: a phase created, changed or deleted by another process
# is applied that much later at most (at once when this process wrote it).
GATE_REFRESH_SECONDS = 2.0
GATE_PHASES_READ = 50


class GatePhases:
    """The maintenance gate's phases: those not ended yet, read again at most every GATE_REFRESH_SECONDS.

    The gate asks at every write and phases change seldom: one query per write was about 3 % of the web
    process's CPU in the count flow (bench/cohort_workspace.py). The running phase is picked from the list at
    each call, so a phase starts and ends at its own times whenever the list was read.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._phases: list[MaintenancePhase] | None = None
        self._read_at = 0.0

    def forget(self, **signal_arguments) -> None:
        with self._lock:
            self._phases = None

    def _not_ended(self) -> list[MaintenancePhase]:
        with self._lock:
            if self._phases is not None and time.monotonic() - self._read_at < GATE_REFRESH_SECONDS:
                return self._phases
        read_at = time.monotonic()
        # By start: the running phases come first, however many are planned after them.
        phases = list(
            MaintenancePhase.objects.filter(end_datetime__gte=timezone.now()).order_by("start_datetime", "id")[
                :GATE_PHASES_READ
            ]
        )
        with self._lock:
            self._phases, self._read_at = phases, read_at
        return phases

    def running(self) -> MaintenancePhase | None:
        """What current_maintenance() answers, as of the last read."""
        now = timezone.now()
        running = [phase for phase in self._not_ended() if phase.start_datetime <= now <= phase.end_datetime]
        return min(running, key=lambda phase: (-phase.end_datetime.timestamp(), phase.id), default=None)


gate_phases = GatePhases()
post_save.connect(gate_phases.forget, sender=MaintenancePhase, weak=False, dispatch_uid="gate_phases_save")
post_delete.connect(gate_phases.forget, sender=MaintenancePhase, weak=False, dispatch_uid="gate_phases_delete")


def current_or_next_maintenance() -> MaintenancePhase | None:
    """The running phase (the one ending last), else the next one to start."""
    current = current_maintenance()
    if current is not None:
        return current
    return MaintenancePhase.objects.filter(start_datetime__gte=timezone.now()).order_by("start_datetime", "id").first()


def users_visible_to(user) -> QuerySet[User]:
    """Managers see every user; others see themselves and users holding a valid access (sharing targets)."""
    users = User.objects.select_related("created_by", "updated_by")
    if rights.can_see_every_user(user):
        return users
    shareable = rights_provider().restrict_to_users_with_valid_access(User.objects.all())
    return users.filter(pk__in=shareable.values("pk")) | users.filter(pk=user.pk)
