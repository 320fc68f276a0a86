"""`X-Impersonate: <username>`: a full admin acts as another user (for support and debugging)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from rest_framework.exceptions import PermissionDenied

from admin_cohort import rights
from admin_cohort.lookups import one_or_none
from admin_cohort.models import User

_logger = logging.getLogger("info")
REFUSED = "Vous n'avez pas le droit d'impersonnifier un autre utilisateur"


def impersonate(user: User, headers: Mapping[str, str]) -> User:
    target_username = headers.get("X-Impersonate")
    if not target_username:
        return user
    if not rights.is_full_admin(user):
        raise PermissionDenied(REFUSED)
    target = one_or_none(User.objects.filter(pk=target_username))
    if target is None:
        _logger.warning("%s asked to impersonate unknown user %r", user.username, target_username)
        return user
    target.impersonated_by = user.username
    return target
