"""Writes on roles (spec 01 §11.3): consistency rules on the merged flags, deletion guards."""

from __future__ import annotations

from django.db import transaction
from rest_framework.exceptions import PermissionDenied, ValidationError

from accesses import catalogue
from accesses.models import RIGHT_FLAGS, Access, Role
from admin_cohort.changed_columns import update_columns


def _check_consistency(flags: dict[str, bool]) -> None:
    error = catalogue.consistency_error(type("RoleFlags", (), flags)())
    if error:
        raise ValidationError({"error": error})


@transaction.atomic
def create_role(*, data: dict) -> Role:
    _check_consistency({flag: data.get(flag, False) for flag in RIGHT_FLAGS})
    return Role.objects.create(**data)


@transaction.atomic
def update_role(*, role: Role, data: dict) -> Role:
    _check_consistency({flag: data.get(flag, getattr(role, flag)) for flag in RIGHT_FLAGS})
    update_columns(role, data)
    return role


@transaction.atomic
def delete_role(*, role: Role) -> None:
    if role.right_full_admin:
        raise PermissionDenied({"error": "Cannot delete the Full Admin role"})
    if Access.objects.filter(role=role).exists():
        raise PermissionDenied({"error": "This role is attached to existing accesses"})
    role.delete()
