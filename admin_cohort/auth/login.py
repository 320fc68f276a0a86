"""Login services: credentials (local, then external hooks), OIDC authorization code, and logout."""

from __future__ import annotations

from django.contrib.auth import login as open_session
from django.utils import timezone

from admin_cohort.auth import hooks, jwt_tokens, machine_tokens, oidc, throttle
from admin_cohort.auth.errors import AuthError
from admin_cohort.auth.service import JWT, OIDC
from admin_cohort.lookups import one_or_none
from admin_cohort.models import User

INVALID_CREDENTIALS = "Invalid username or password!"


class LoginThrottledError(AuthError):
    pass


def _credentials_valid(user: User | None, username: str, password: str) -> bool:
    if user is not None and user.has_usable_password() and user.check_password(password):
        return True
    return hooks.authenticate_with_hooks(username, password)


def login_with_credentials(request, username: str, password: str) -> tuple[User, dict]:
    """Returns (user, tokens). The same error whether the username exists or not."""
    address = request.META.get("REMOTE_ADDR") or "-"
    if throttle.is_throttled(username, address):
        raise LoginThrottledError("Too many failed login attempts, try again later")
    user = one_or_none(User.objects.filter(pk=username))
    if username in machine_tokens.machine_usernames() or not _credentials_valid(user, username, password):
        throttle.record_failure(username, address)
        raise AuthError(INVALID_CREDENTIALS)
    if user is None:  # valid for an external directory, but never provisioned here
        throttle.record_failure(username, address)
        raise AuthError(INVALID_CREDENTIALS)
    throttle.clear_username(username)
    pair = jwt_tokens.issue_pair(user.username)
    return _open_session(request, user), {"access_token": pair.access_token, "refresh_token": pair.refresh_token}


def login_with_oidc_code(request, auth_code: str, redirect_uri: str) -> tuple[User, dict]:
    username, tokens = oidc.exchange_code(auth_code, redirect_uri)
    user = one_or_none(User.objects.filter(pk=username))
    if user is None or username in machine_tokens.machine_usernames():
        raise AuthError("User matching query does not exist.")
    result = {"access_token": tokens["access_token"], "refresh_token": tokens.get("refresh_token")}
    return _open_session(request, user), result


def _open_session(request, user: User) -> User:
    open_session(request, user, backend="django.contrib.auth.backends.ModelBackend")
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    return user


def end_login(*, method: str | None, access_token, refresh_token: str | None) -> None:
    """Logout at the token issuer: revoke our own tokens (JWT) or close the IdP session (OIDC).

    Raises AuthError for an unusable refresh token, IdentityProviderError when the IdP fails.
    """
    if method == JWT and isinstance(access_token, str):
        jwt_tokens.revoke_login(jwt_tokens.verify_access_token(access_token))
    elif method == OIDC:
        if not refresh_token:
            raise AuthError("Logout request missing `refresh_token`")
        oidc.logout(refresh_token, access_token)
