"""Reads of the access-management app: the tree relations, and what each user may see."""

from __future__ import annotations

from collections.abc import Iterable

from django.db.models import Q, QuerySet

from accesses.models import Access, Perimeter, PerimeterClosure, Profile


def ancestors_by_perimeter(perimeter_ids: Iterable[int | None]) -> dict[int, set[int]]:
    """{perimeter id: ids of its strict ancestors} in one indexed query (empty set for roots and unknown ids)."""
    wanted = {pid for pid in perimeter_ids if pid is not None}
    result: dict[int, set[int]] = {pid: set() for pid in wanted}
    if wanted:
        rows = PerimeterClosure.objects.filter(descendant_id__in=wanted, depth__gt=0)
        for descendant, ancestor in rows.values_list("descendant_id", "ancestor_id"):
            result[descendant].add(ancestor)
    return result


def subtree_ids(root_ids: Iterable[int]) -> QuerySet:
    """Ids of the given perimeters and of all their descendants, as a subquery."""
    return PerimeterClosure.objects.filter(ancestor_id__in=list(root_ids)).values("descendant_id")


def strict_descendant_ids(root_ids: Iterable[int]) -> QuerySet:
    return PerimeterClosure.objects.filter(ancestor_id__in=list(root_ids), depth__gt=0).values("descendant_id")


def perimeter_ids_in_lineage(perimeter_ids: Iterable[int]) -> Q:
    """A filter on `perimeter_id`: on the line (ancestor, self or descendant) of one of the given perimeters."""
    ids = list(perimeter_ids)
    return Q(perimeter_id__in=PerimeterClosure.objects.filter(descendant_id__in=ids).values("ancestor_id")) | Q(
        perimeter_id__in=PerimeterClosure.objects.filter(ancestor_id__in=ids).values("descendant_id")
    )


def alive_perimeters() -> QuerySet[Perimeter]:
    return Perimeter.objects.all()


def accesses_visible_to(rights) -> QuerySet[Access]:
    """Full admins see every access; other access managers see those on the line of a perimeter they manage,
    which covers the profile and perimeter pages of the Portail, and their own."""
    accesses = Access.objects.select_related("profile__user", "role", "perimeter", "created_by", "updated_by")
    if rights.is_full_admin:
        return accesses
    if not rights.can_manage_accesses:
        return accesses.none()
    return accesses.filter(perimeter_ids_in_lineage(rights.managing_perimeter_ids) | Q(profile__user=rights.user))


def profiles_visible_to(rights) -> QuerySet[Profile]:
    """Managers (users or accesses) see every profile; other users their own."""
    profiles = Profile.objects.select_related("user")
    if rights.can_see_every_profile:
        return profiles
    return profiles.filter(user=rights.user)
