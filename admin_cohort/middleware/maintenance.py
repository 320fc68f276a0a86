from __future__ import annotations

from datetime import UTC

from django.db import OperationalError
from django.http import JsonResponse

from admin_cohort.auth.authentication import bearer_token
from admin_cohort.auth.machine_tokens import is_gate_bypass_token
from admin_cohort.exceptions import BUSY, no_free_connection
from admin_cohort.selectors import gate_phases
from admin_cohort.serializers import format_json_datetime

SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
OPEN_PREFIXES = ("/auth/", "/maintenances/")


class MaintenanceGateMiddleware:
    """During a running phase, writes get 503 (reads, /auth/, /maintenances/ and job callbacks pass)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # path_info: the routed path, without the prefix the backend may be mounted under (SCRIPT_NAME).
        if request.method in SAFE_METHODS or request.path_info.startswith(OPEN_PREFIXES):
            return self.get_response(request)
        token = bearer_token(request.META.get("HTTP_AUTHORIZATION"))
        if token and is_gate_bypass_token(token):
            return self.get_response(request)
        try:
            phase = gate_phases.running()
        except OperationalError as error:  # its first query: a busy pool is the DRF views' 503 here too
            if not no_free_connection(error):
                raise
            return JsonResponse(BUSY, status=503, headers={"Retry-After": "5"})
        if phase is None or not phase.active:
            return self.get_response(request)
        end = phase.end_datetime.astimezone(UTC).strftime("%d/%m/%Y, %H:%M:%S")
        return JsonResponse(
            {
                "message": f"The server is unavailable for maintenance up to {end} for the following reason: "
                f"{phase.message or phase.subject}",
                "maintenance_start": format_json_datetime(phase.start_datetime),
                "maintenance_end": format_json_datetime(phase.end_datetime),
                "active": True,
            },
            status=503,
        )
