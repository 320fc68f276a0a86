from __future__ import annotations

from rest_framework import permissions

from admin_cohort import rights


class IsFullAdmin(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        return rights.is_full_admin(request.user)


class UsersPermission(permissions.BasePermission):
    """Reads for any authenticated user (the queryset narrows what they see); writes for user managers.

    The username check, which looks people up in the identity directory, is for user managers too: it serves
    the Portail's user-creation form only, and the reference opens the directory to anyone (spec 01 §24.8).
    """

    def has_permission(self, request, view) -> bool:
        if getattr(view, "action", None) == "check":
            return rights.can_manage_users(request.user)
        if request.method in permissions.SAFE_METHODS:
            return rights.is_authenticated(request.user)
        if request.method in ("POST", "PATCH"):
            return rights.can_manage_users(request.user)
        return False


class MaintenancePermission(permissions.BasePermission):
    """Reads are public (Cohort360 polls the next phase on its login page)."""

    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return True
        return rights.can_write_maintenances(request.user)


class ReadAuthenticatedWriteFullAdmin(permissions.BasePermission):
    def has_permission(self, request, view) -> bool:
        if request.method in permissions.SAFE_METHODS:
            return rights.is_authenticated(request.user)
        return rights.is_full_admin(request.user)
