"""Writes on accesses (spec 01 §11.2). Every write checks that the caller may manage the access (§10.2):
the reference checked it on changes but not on creation, which let any manager grant Full Admin."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied, ValidationError

from accesses.models import MANUAL, Access, Perimeter, Profile, Role
from accesses.services.user_rights import UserRights

PAST_TOLERANCE = timedelta(seconds=10)  # a form submitted "now" reaches us a little later
NOT_ALLOWED = "You are not allowed to manage this role on this perimeter"
DATE_FIELDS = ("start_datetime", "end_datetime")


def _refuse(message: str) -> ValidationError:
    return ValidationError({"error": message})


def _check_dates(start: datetime | None, end: datetime | None) -> None:
    now = timezone.now()
    if start is not None and start + PAST_TOLERANCE < now:
        raise _refuse("La date de début ne peut pas être dans le passé")
    if end is not None and end + PAST_TOLERANCE < now:
        raise _refuse("La date de fin ne peut pas être dans le passé")
    if start is not None and end is not None and end < start:
        raise _refuse("La date de fin ne peut pas précéder la date de début")


def check_can_manage(rights: UserRights, access: Access) -> None:
    if not rights.can_manage_on(access.role, access.perimeter_id):
        raise PermissionDenied({"error": NOT_ALLOWED})


@transaction.atomic
def create_access(
    *,
    rights: UserRights,
    profile: Profile,
    role: Role,
    perimeter: Perimeter,
    start_datetime: datetime | None = None,
    end_datetime: datetime | None = None,
) -> Access:
    if not rights.can_manage_on(role, perimeter.id):
        raise PermissionDenied({"error": NOT_ALLOWED})
    start = start_datetime or timezone.now()
    end = end_datetime or start + timedelta(days=settings.DEFAULT_ACCESS_VALIDITY_IN_DAYS)
    _check_dates(start, end)
    return Access.objects.create(
        profile=profile,
        role=role,
        perimeter=perimeter,
        start_datetime=start,
        end_datetime=end,
        source=MANUAL,
        created_by=rights.user,
        updated_by=rights.user,
    )


@transaction.atomic
def update_access_dates(*, rights: UserRights, access: Access, body: dict, dates: dict) -> Access:
    """`body` is the raw request body (its keys are checked); `dates` holds its parsed dates."""
    check_can_manage(rights, access)
    if not body:
        raise _refuse("No data was provided to update access")
    if any(key not in DATE_FIELDS for key in body):
        raise _refuse("Only `start_datetime` and `end_datetime` can be updated")
    if any(dates.get(key) is None for key in body):
        raise _refuse("Missing dates to updating access")
    now = timezone.now()
    new_start, new_end = dates.get("start_datetime"), dates.get("end_datetime")
    if new_start is not None and new_start != access.start_datetime and access.start_datetime < now:
        raise _refuse("La date de début ne peut pas être modifiée car elle est passée")
    if new_end is not None and new_end != access.end_datetime and access.end_datetime < now:
        raise _refuse("La date de fin ne peut pas être modifiée car elle est passée")
    _check_dates(new_start, new_end)
    # The reference compared the dates only when both were sent; the stored one counts as well.
    if (new_end or access.end_datetime) < (new_start or access.start_datetime):
        raise _refuse("La date de fin ne peut pas précéder la date de début")
    for key in body:
        setattr(access, key, dates[key])
    access.updated_by = rights.user
    access.save(update_fields=[*body, "updated_by", "update_datetime"])
    return access


@transaction.atomic
def close_access(*, rights: UserRights, access: Access) -> Access:
    """Ends the access now; the request body is ignored (the reference applied it, role included)."""
    check_can_manage(rights, access)
    now = timezone.now()
    if access.start_datetime is None or access.end_datetime is None:
        raise _refuse("Dates d'accès manquantes")
    if access.end_datetime < now:
        raise _refuse("L'accès est déjà clôturé")
    if access.start_datetime > now:
        raise _refuse("L'accès ne peut pas être clôturé car n'a pas encore commencé")
    access.end_datetime = now
    access.updated_by = rights.user
    access.save(update_fields=["end_datetime", "updated_by", "update_datetime"])
    return access


@transaction.atomic
def delete_access(*, rights: UserRights, access: Access) -> None:
    check_can_manage(rights, access)
    if access.start_datetime is not None and access.start_datetime < timezone.now():
        raise _refuse("L'accès est déjà activé, il ne peut plus être supprimé.")
    access.updated_by = rights.user
    access.save(update_fields=["updated_by", "update_datetime"])
    access.delete()
