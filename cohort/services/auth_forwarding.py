"""The end user's credentials a job forwards to the FHIR server (spec 03 §5.1)."""

from __future__ import annotations

from admin_cohort import request_context


def forwarded_auth(request) -> dict:
    return {
        "authorization": request.headers.get("Authorization", ""),
        "authorization_method": request.headers.get("AuthorizationMethod", ""),
        "trace_id": request_context.trace_id.get(),
    }
