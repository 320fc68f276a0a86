"""Reads of the core models."""

from __future__ import annotations

from django.db.models import QuerySet
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
