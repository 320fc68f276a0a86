from __future__ import annotations

from django.utils import timezone

from admin_cohort.services.request_log import record_request


class AuditedViewMixin:
    """Records each request whose method is in `audited_methods` in the request-log table."""

    audited_methods: tuple[str, ...] = ("POST", "PATCH", "DELETE")

    def initial(self, request, *args, **kwargs):
        self._audit_started_at = timezone.now()
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method in self.audited_methods:
            record_request(
                request=request,
                view_name=f"{self.__class__.__module__}.{self.__class__.__name__}",
                view_method=getattr(self, "action", None) or request.method.lower(),
                started_at=getattr(self, "_audit_started_at", timezone.now()),
                response=response,
            )
        return response
