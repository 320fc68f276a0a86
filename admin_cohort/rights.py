"""Named rights the core asks about, and the permission predicates built on them."""

from __future__ import annotations

from django.conf import settings

from admin_cohort.plugins import rights

FULL_ADMIN = "right_full_admin"
MANAGE_USERS = "right_manage_users"
ACCESS_MANAGEMENT_RIGHTS = (
    "right_manage_admin_accesses_same_level",
    "right_manage_admin_accesses_inferior_levels",
    "right_manage_data_accesses_same_level",
    "right_manage_data_accesses_inferior_levels",
)
# Who may look through the whole user directory (and every profile): managers of users or of accesses.
DIRECTORY_RIGHTS = (FULL_ADMIN, MANAGE_USERS, *ACCESS_MANAGEMENT_RIGHTS)


def is_authenticated(user) -> bool:
    return bool(user is not None and getattr(user, "is_authenticated", False))


def is_full_admin(user) -> bool:
    return is_authenticated(user) and rights().holds_any_right(user, [FULL_ADMIN])


def can_manage_users(user) -> bool:
    return is_authenticated(user) and rights().holds_any_right(user, [FULL_ADMIN, MANAGE_USERS])


def can_see_every_user(user) -> bool:
    return is_authenticated(user) and rights().holds_any_right(user, DIRECTORY_RIGHTS)


def is_applicative_user(user) -> bool:
    return is_authenticated(user) and user.username in settings.APPLICATIVE_USERS


def can_write_maintenances(user) -> bool:
    return is_authenticated(user) and (
        is_applicative_user(user) or user.username == settings.ROLLOUT_USERNAME or is_full_admin(user)
    )
