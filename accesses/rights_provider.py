"""The answers of the access-management app to the core's questions about rights."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Min, Q, QuerySet
from django.utils import timezone

from accesses.models import MANUAL, Access, Profile
from admin_cohort.plugins import AccessRightsProvider


class AccessesRightsProvider(AccessRightsProvider):
    def holds_any_right(self, user, rights: Iterable[str]) -> bool:
        return Access.objects.valid_now().of_user(user).with_role_holding_any(rights).exists()

    def restrict_to_users_with_valid_access(self, users: QuerySet) -> QuerySet:
        holders = Access.objects.valid_now().values("profile__user_id")
        return users.filter(pk__in=holders)

    def restrict_to_users_with_manual_profile(self, users: QuerySet) -> QuerySet:
        return users.filter(pk__in=Profile.objects.filter(source=MANUAL).values("user_id"))

    def on_user_created(self, user) -> None:
        Profile.objects.create(user=user, source=MANUAL, is_active=True)

    def rights_change_at(self, user) -> datetime | None:
        return _next_start_or_end(Access.objects.of_user(user))

    def next_rights_change_at(self) -> datetime | None:
        return _next_start_or_end(Access.objects.all())


def _next_start_or_end(accesses: QuerySet[Access]) -> datetime | None:
    now = timezone.now()
    upcoming = accesses.aggregate(
        start=Min("start_datetime", filter=Q(start_datetime__gt=now)),
        end=Min("end_datetime", filter=Q(end_datetime__gte=now)),
    )
    moments = [moment for moment in upcoming.values() if moment is not None]
    return min(moments) if moments else None
