from __future__ import annotations

from rest_framework import permissions

from accesses.services.user_rights import UserRights
from admin_cohort import rights


class CanManageAccesses(permissions.BasePermission):
    """The coarse gate of the access lists and writes; each access is then checked on its own (§10.2)."""

    def has_permission(self, request, view) -> bool:
        return rights.is_authenticated(request.user) and UserRights.of_request(request).can_manage_accesses
