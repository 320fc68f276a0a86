from __future__ import annotations

from rest_framework import permissions

from admin_cohort.permissions import IsFullAdmin


class ReadAnyoneWriteFullAdmin(IsFullAdmin):
    """Reads are public (banners and release notes hold nothing confidential); writes for full admins."""

    def has_permission(self, request, view) -> bool:
        return request.method in permissions.SAFE_METHODS or super().has_permission(request, view)
