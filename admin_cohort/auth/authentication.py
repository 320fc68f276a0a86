from __future__ import annotations

import logging

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from admin_cohort.auth.errors import AuthError
from admin_cohort.auth.service import authenticate_machine_token, authenticate_token, bind_to_request_context

_logger = logging.getLogger("info")


def bearer_token(header: str | None) -> str | None:
    """The token of a well-formed `Bearer <token>` header, else None."""
    parts = (header or "").split()
    if len(parts) == 2 and parts[0] == "Bearer":
        return parts[1]
    return None


class BearerAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer <token>` with `AuthorizationMethod: JWT|OIDC`, or a machine token.

    Anything that does not authenticate (no header, another scheme, `Bearer null`, an expired or revoked
    token, an unknown method) leaves the request anonymous: protected endpoints then answer 403.
    """

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION")
        parts = (header or "").split()
        if not parts:
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Authorization header must contain two space-delimited values")
        token = bearer_token(header)
        if token is None:
            return None
        machine_user = authenticate_machine_token(token)
        if machine_user is not None:
            bind_to_request_context(machine_user, {})
            return machine_user, token
        method = request.META.get("HTTP_AUTHORIZATIONMETHOD")
        if not method:
            return None
        try:
            user = authenticate_token(token, method, request.headers)
        except AuthError as error:
            _logger.info("Request authentication refused: %s", error)
            return None
        bind_to_request_context(user, request.headers)
        return user, token


class BearerAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "admin_cohort.auth.authentication.BearerAuthentication"
    name = "JWT"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
