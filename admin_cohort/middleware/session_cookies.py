from __future__ import annotations


class SessionCookiesMiddleware:
    """Exposes the session id to the request (`HTTP_SESSION_ID`) and drops the CSRF cookie on logout."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session_id = request.COOKIES.get("sessionid")
        if session_id:
            request.META["HTTP_SESSION_ID"] = session_id
        response = self.get_response(request)
        if request.path.startswith("/auth/logout/"):
            response.delete_cookie("csrftoken")
        return response
