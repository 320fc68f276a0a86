"""Bundled hooks for an identity server (typically a front of an LDAP directory).

Configure with USER_AUTHENTICATION_HOOKS=admin_cohort.auth.identity_server.authenticate_user and/or
USER_IDENTITY_HOOKS=admin_cohort.auth.identity_server.check_user_identity, plus IDENTITY_SERVER_URL and
IDENTITY_SERVER_AUTH_TOKEN.
"""

from __future__ import annotations

from django.conf import settings

from admin_cohort.auth.hooks import HookError
from admin_cohort.http import http_session


def _post(path: str, data: dict):
    return http_session().post(
        f"{settings.IDENTITY_SERVER_URL.rstrip('/')}{path}",
        data=data,
        headers={"Key-auth": settings.IDENTITY_SERVER_AUTH_TOKEN},
    )


def authenticate_user(username: str, password: str) -> bool:
    return _post("/user/authenticate", {"username": username, "password": password}).status_code == 200


def check_user_identity(username: str) -> dict | None:
    response = _post("/user/info", {"username": username})
    if response.status_code == 404:
        return None
    if response.status_code != 200:
        raise HookError(f"Identity server answered {response.status_code}")
    try:
        attributes = response.json()["data"]["attributes"]
        return {
            "username": attributes["cn"],
            "firstname": attributes["givenName"],
            "lastname": attributes["sn"],
            "email": attributes["mail"],
        }
    except (ValueError, KeyError, TypeError) as error:
        raise HookError("Identity server gave a malformed answer") from error
