from __future__ import annotations

from admin_cohort import request_context


class RequestContextMiddleware:
    """Trace id (caller's `X-Trace-Id` or a new one) for every log line of the request, echoed back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        trace_id = request_context.new_trace_id(request.META.get("HTTP_X_TRACE_ID"))
        request.META["HTTP_X_TRACE_ID"] = trace_id
        tokens = (
            request_context.trace_id.set(trace_id),
            request_context.user_id.set("Anonymous"),
            request_context.impersonating.set(request.META.get("HTTP_X_IMPERSONATE") or "-"),
        )
        try:
            response = self.get_response(request)
        finally:
            for var, token in zip(
                (request_context.trace_id, request_context.user_id, request_context.impersonating), tokens, strict=True
            ):
                var.reset(token)
        response["X-Trace-Id"] = trace_id
        return response
