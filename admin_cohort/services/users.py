from __future__ import annotations

import re

from django.conf import settings
from django.db import transaction

from admin_cohort.auth import hooks
from admin_cohort.changed_columns import update_columns
from admin_cohort.lookups import one_or_none
from admin_cohort.models import User
from admin_cohort.plugins import rights


class InvalidUsernameError(Exception):
    pass


@transaction.atomic
def create_user(*, data: dict, created_by: User) -> User:
    password = data.pop("password", None)
    user = User(**data, created_by=created_by, updated_by=created_by)
    user.set_password(password)
    user.save(force_insert=True)
    rights().on_user_created(user)
    return user


@transaction.atomic
def update_user(*, user: User, data: dict, updated_by: User) -> User:
    update_columns(user, {**data, "updated_by": updated_by})
    return user


def check_user(username: str) -> tuple[dict | None, bool]:
    """(identity, already_exists); identity None when nobody has that username.

    Raises InvalidUsernameError, or hooks.HookError when the directory cannot be asked.
    """
    user = one_or_none(User.objects.filter(pk=username))
    if user is not None:
        return {
            "username": user.username,
            "firstname": user.firstname,
            "lastname": user.lastname,
            "email": user.email,
        }, True
    if not re.match(settings.USERNAME_REGEX, username):
        raise InvalidUsernameError(username)
    identity = hooks.lookup_identity(username)
    return identity, False
