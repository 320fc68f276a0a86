"""Reads of the access-management app: the tree relations, and what each user may see."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import NamedTuple

from django.conf import settings
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from accesses.models import Access, PerimeterClosure, Profile


def ancestors_by_perimeter(perimeter_ids: Iterable[int | None]) -> dict[int, set[int]]:
    """{perimeter id: ids of its strict ancestors} in one indexed query (empty set for roots and unknown ids)."""
    wanted = {pid for pid in perimeter_ids if pid is not None}
    result: dict[int, set[int]] = {pid: set() for pid in wanted}
    if wanted:
        rows = PerimeterClosure.objects.filter(descendant_id__in=wanted, depth__gt=0)
        for descendant, ancestor in rows.values_list("descendant_id", "ancestor_id"):
            result[descendant].add(ancestor)
    return result


class Lineage(NamedTuple):
    perimeter_id: int
    ids: set[int]  # the perimeter's and its ancestors'


def lineages_by_cohort_id(cohort_ids: Iterable[str]) -> dict[str, Lineage]:
    """The lineage of the perimeter (not deleted) of each of these cohort ids, in one query: the closure holds
    every perimeter at depth 0, and its ancestors above it."""
    lineages: dict[str, Lineage] = {}
    rows = PerimeterClosure.objects.filter(
        descendant__cohort_id__in={str(cohort_id) for cohort_id in cohort_ids},
        descendant__delete_datetime__isnull=True,
    ).values_list("descendant__cohort_id", "descendant_id", "ancestor_id")
    for cohort_id, perimeter_id, ancestor_id in rows:
        lineages.setdefault(cohort_id, Lineage(perimeter_id, set())).ids.add(ancestor_id)
    return lineages


def descendant_ids(root_ids: Iterable[int], *, including_roots: bool = True) -> QuerySet:
    """Ids of all the descendants of the given perimeters (and of those perimeters), as a subquery."""
    links = PerimeterClosure.objects.filter(ancestor_id__in=list(root_ids))
    return (links if including_roots else links.filter(depth__gt=0)).values("descendant_id")


def perimeter_ids_in_lineage(perimeter_ids: Iterable[int]) -> Q:
    """A filter on `perimeter_id`: on the line (ancestor, self or descendant) of one of the given perimeters."""
    ids = list(perimeter_ids)
    return Q(perimeter_id__in=PerimeterClosure.objects.filter(descendant_id__in=ids).values("ancestor_id")) | Q(
        perimeter_id__in=PerimeterClosure.objects.filter(ancestor_id__in=ids).values("descendant_id")
    )


def _accesses_to_show() -> QuerySet[Access]:
    """With everything their representation reads, in one query."""
    return Access.objects.select_related("profile__user", "role", "perimeter", "created_by", "updated_by")


def accesses_visible_to(rights) -> QuerySet[Access]:
    """Full admins see every access; other access managers see those on the line of a perimeter they manage,
    which covers the profile and perimeter pages of the Portail, and their own."""
    accesses = _accesses_to_show()
    if rights.is_full_admin:
        return accesses
    if not rights.can_manage_accesses:
        return accesses.none()
    return accesses.filter(perimeter_ids_in_lineage(rights.managing_perimeter_ids) | Q(profile__user=rights.user))


def valid_accesses_of(user) -> QuerySet[Access]:
    return _accesses_to_show().valid_now().of_user(user).order_by("id")


def profiles_visible_to(rights) -> QuerySet[Profile]:
    """Managers (users or accesses) see every profile; other users their own."""
    profiles = Profile.objects.select_related("user")
    if rights.can_see_every_profile:
        return profiles
    return profiles.filter(user=rights.user)


ROLE_HOLDERS_ORDER = {
    "username": "profile__user__username",
    "firstname": "profile__user__firstname",
    "lastname": "profile__user__lastname",
    "email": "profile__user__email",
    "perimeter": "perimeter__name",
    "start_datetime": "start_datetime",
    "end_datetime": "end_datetime",
}


def role_holders(role, *, name: str, order: str) -> QuerySet:
    """One row per access of the role valid now (end excluded), as `values()` rows.

    Raises ValueError on an unknown `order` (answered as a 400).
    """
    descending = order.startswith("-")
    field = ROLE_HOLDERS_ORDER.get(order.lstrip("-"))
    if field is None:
        raise ValueError(f"unknown order {order!r}")
    now = timezone.now()
    holders = Access.objects.filter(role=role, start_datetime__lte=now, end_datetime__gt=now)
    if name:
        holders = holders.filter(
            Q(profile__user__username__icontains=name)
            | Q(profile__user__firstname__icontains=name)
            | Q(profile__user__lastname__icontains=name)
        )
    return holders.order_by(f"-{field}" if descending else field, "id").values(
        "start_datetime",
        "end_datetime",
        provider_username=F("profile__user__username"),
        firstname=F("profile__user__firstname"),
        lastname=F("profile__user__lastname"),
        email=F("profile__user__email"),
        perimeter_name=F("perimeter__name"),
    )


def role_holder_item(row: dict) -> dict:
    # The dates are rendered as Python prints them (a space between date and time), as the Portail expects.
    return {
        "provider_username": row["provider_username"],
        "firstname": row["firstname"],
        "lastname": row["lastname"],
        "email": row["email"],
        "perimeter": row["perimeter_name"],
        "start_datetime": str(row["start_datetime"]),
        "end_datetime": str(row["end_datetime"]),
    }


def first_to_expire_per_perimeter(accesses: list[Access]) -> list[Access]:
    """Accesses ending between today and the first alert horizon, the first to end per perimeter."""
    today = timezone.localdate()
    horizon = today + timedelta(days=settings.ACCESS_EXPIRY_FIRST_ALERT_IN_DAYS)
    first: dict[int | None, Access] = {}
    for access in sorted(accesses, key=lambda a: a.end_datetime):
        if today <= timezone.localdate(access.end_datetime) <= horizon:
            first.setdefault(access.perimeter_id, access)
    return list(first.values())
