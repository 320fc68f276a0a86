"""Who may call the exports endpoints (spec 02 §15.1, with the security fixes of §21.5)."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accesses.services.user_rights import UserRights
from admin_cohort import rights
from exports.selectors import MANAGE_DATALABS, READ_DATALABS, is_export_pipeline


class DatalabsPermission(BasePermission):
    """Reads need `right_read_datalabs`; writes need it and `right_manage_datalabs`."""

    def has_permission(self, request, view) -> bool:
        if not rights.is_authenticated(request.user):
            return False
        held = UserRights.of_request(request)
        if request.method in SAFE_METHODS:
            return held.holds(READ_DATALABS)
        return held.holds(READ_DATALABS) and held.holds(MANAGE_DATALABS)


class ExportStatsPermission(BasePermission):
    """Statistics are written by the export pipeline only; reads are narrowed by exports.selectors."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return rights.is_authenticated(request.user)
        return is_export_pipeline(request.user)


class IsOwnerOrFullAdmin(BasePermission):
    """Cohort360 offers retrying to the export's owner: a 403 there would log them out (client contract §7.14)."""

    def has_object_permission(self, request, view, obj) -> bool:
        return obj.owner_id == request.user.pk or rights.is_full_admin(request.user)
