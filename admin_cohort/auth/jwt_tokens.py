"""Tokens issued by this backend: HS256, access (5 min) and refresh (1 day), revocable.

Every token of one login carries the same `sid`: logout revokes the `sid`, so the access and refresh
tokens of that login stop working at once. A refresh token is single-use: its `jti` is revoked when it
is exchanged, and presenting it again revokes the whole login (stolen-token reuse detection).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import jwt
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from admin_cohort.auth.errors import AuthError
from admin_cohort.models import RevokedToken, User

ALGORITHM = "HS256"
ACCESS = "access"
REFRESH = "refresh"


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str


def _encode(username: str, token_type: str, sid: str, lifetime) -> str:
    now = timezone.now()
    claims = {
        "token_type": token_type,
        "username": username,
        "sid": sid,
        "jti": uuid.uuid4().hex,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, settings.JWT_SIGNING_KEY, algorithm=ALGORITHM)


def issue_pair(username: str, sid: str | None = None) -> TokenPair:
    sid = sid or uuid.uuid4().hex
    return TokenPair(
        access_token=_encode(username, ACCESS, sid, settings.JWT_ACCESS_TOKEN_LIFETIME),
        refresh_token=_encode(username, REFRESH, sid, settings.JWT_REFRESH_TOKEN_LIFETIME),
    )


def _decode(token: str, expected_type: str) -> dict:
    if ALGORITHM not in settings.JWT_ALGORITHMS:
        raise AuthError("Locally issued tokens are disabled (HS256 not in JWT_ALGORITHMS)")
    try:
        claims = jwt.decode(
            token,
            settings.JWT_SIGNING_KEY,
            algorithms=[ALGORITHM],
            options={"require": ["exp", "iat", "jti", "sid", "username", "token_type"]},
        )
    except jwt.PyJWTError as error:
        raise AuthError("Token is invalid or expired") from error
    if claims.get("token_type") != expected_type:
        raise AuthError(f"Token is not an {expected_type} token" if expected_type == ACCESS else "Token has wrong type")
    if not isinstance(claims.get("username"), str):
        raise AuthError("Token is invalid or expired")
    if RevokedToken.objects.filter(key__in=[claims["jti"], claims["sid"]]).exists():
        raise AuthError("Token has been revoked")
    return claims


def verify_access_token(token: str) -> dict:
    return _decode(token, ACCESS)


def _revoke(key: str, expires_at: datetime) -> bool:
    """True when this call revoked the key, False when it was already revoked."""
    try:
        with transaction.atomic():
            RevokedToken.objects.create(key=key, expires_at=expires_at)
        return True
    except IntegrityError:
        return False


def _expiry(claims: dict) -> datetime:
    return datetime.fromtimestamp(claims["exp"], tz=timezone.get_current_timezone())


def refresh(refresh_token: str) -> tuple[str, TokenPair]:
    """Exchange a refresh token for a new pair; returns (username, pair)."""
    try:
        claims = _decode(refresh_token, REFRESH)
    except AuthError:
        _revoke_family_of_reused_token(refresh_token)
        raise
    if not User.objects.filter(pk=claims["username"]).exists():
        raise AuthError("Token is invalid or expired")
    if not _revoke(claims["jti"], _expiry(claims)):
        raise AuthError("Token has been revoked")
    return claims["username"], issue_pair(claims["username"], sid=claims["sid"])


def _revoke_family_of_reused_token(refresh_token: str) -> None:
    try:
        claims = jwt.decode(refresh_token, settings.JWT_SIGNING_KEY, algorithms=[ALGORITHM])
    except jwt.PyJWTError:
        return
    if claims.get("token_type") == REFRESH and RevokedToken.objects.filter(key=claims.get("jti")).exists():
        _revoke(claims["sid"], _expiry(claims) + settings.JWT_REFRESH_TOKEN_LIFETIME)


def revoke_login(access_claims: dict) -> None:
    """Logout: every token of this login (same sid) stops working."""
    expires_at = timezone.now() + settings.JWT_REFRESH_TOKEN_LIFETIME
    _revoke(access_claims["sid"], expires_at)
    RevokedToken.objects.filter(expires_at__lt=timezone.now()).delete()
