"""OIDC (Keycloak-style realms): authorization-code login, token verification, refresh and logout."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass

import jwt
import requests
from django.conf import settings

from admin_cohort.auth.errors import AuthError, IdentityProviderError
from admin_cohort.http import http_session

_logger = logging.getLogger("info")
_ASYMMETRIC_PREFIXES = ("RS", "PS", "ES")


@dataclass(frozen=True)
class Realm:
    issuer: str
    client_id: str
    client_secret: str
    redirect_uri: str

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    @property
    def logout_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/logout"


def realms() -> list[Realm]:
    return [Realm(**server) for server in settings.OIDC_SERVERS]


def realm_for_redirect_uri(redirect_uri: str) -> Realm:
    configured = realms()
    if not configured:
        raise AuthError("OIDC authentication is not configured")
    if not redirect_uri:
        return configured[0]
    for realm in configured:
        if realm.redirect_uri == redirect_uri:
            return realm
    raise AuthError("Unknown `redirect_uri`")


def realm_for_client_id(client_id: str | None) -> Realm:
    for realm in realms():
        if realm.client_id == client_id:
            return realm
    raise AuthError("Token is invalid or expired")


def _unverified_claims(token: str) -> dict:
    try:
        return jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as error:
        raise AuthError("Token is invalid or expired") from error


def exchange_code(code: str, redirect_uri: str) -> tuple[str, dict]:
    """Returns (username, IdP token response) for an authorization code."""
    realm = realm_for_redirect_uri(redirect_uri)
    data = {
        "client_id": realm.client_id,
        "client_secret": realm.client_secret,
        "redirect_uri": realm.redirect_uri,
        "grant_type": "authorization_code",
        "code": code,
    }
    try:
        response = http_session().post(realm.token_url, data=data)
    except requests.RequestException as error:
        raise AuthError(f"Error issuing tokens: {error.__class__.__name__}") from error
    if response.status_code != 200:
        raise AuthError("Invalid username or password")
    try:
        tokens = response.json()
        access_token = tokens["access_token"]
    except (ValueError, KeyError, TypeError) as error:
        raise AuthError("Error issuing tokens: invalid answer from the identity provider") from error
    username = _unverified_claims(access_token).get("preferred_username")
    if not isinstance(username, str) or not username:
        raise AuthError("Invalid username or password")
    return username, tokens


class _JwksClients:
    """One PyJWKClient per issuer: keys cached with a TTL, refetched when a token names an unknown kid."""

    def __init__(self):
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._lock = threading.Lock()

    def signing_key(self, issuer: str, token: str) -> jwt.PyJWK:
        with self._lock:
            client = self._clients.get(issuer)
            if client is None:
                # no per-kid LRU cache (cache_keys): it never expires, so a key the IdP withdrew would stay
                # trusted; the key set cache alone honours the TTL and the refetch on an unknown kid
                client = jwt.PyJWKClient(
                    f"{issuer}/protocol/openid-connect/certs",
                    cache_keys=False,
                    cache_jwk_set=settings.OIDC_JWKS_CACHE_SECONDS > 0,
                    lifespan=max(settings.OIDC_JWKS_CACHE_SECONDS, 1),
                    cooldown_duration=max(settings.OIDC_JWKS_REFETCH_COOLDOWN_SECONDS, 0),
                    timeout=10,
                )
                self._clients[issuer] = client
        return client.get_signing_key_from_jwt(token)

    def clear(self) -> None:
        with self._lock:
            self._clients.clear()


jwks_clients = _JwksClients()


def accepted_issuers() -> set[str]:
    return {realm.issuer for realm in realms()} | {url.rstrip("/") for url in settings.OIDC_EXTRA_SERVER_URLS}


def verify_access_token(token: str) -> str:
    """The username (`preferred_username`) of a valid OIDC access token from an accepted issuer."""
    issuer = _unverified_claims(token).get("iss")
    if not isinstance(issuer, str) or issuer.rstrip("/") not in accepted_issuers():
        raise AuthError("Token issuer is not accepted")
    algorithms = [a for a in settings.JWT_ALGORITHMS if a.startswith(_ASYMMETRIC_PREFIXES)]
    try:
        key = jwks_clients.signing_key(issuer.rstrip("/"), token)
        claims = jwt.decode(
            token,
            key.key,
            algorithms=algorithms,
            audience=settings.OIDC_AUDIENCE or None,
            issuer=issuer,
            options={"require": ["exp", "iss"], "verify_aud": bool(settings.OIDC_AUDIENCE)},
        )
    except (jwt.PyJWTError, ValueError) as error:  # ValueError: PyJWKClient lets a non-JSON key set through
        raise AuthError("Token is invalid or expired") from error
    username = claims.get("preferred_username")
    if not isinstance(username, str) or not username:
        raise AuthError("Token has no preferred_username")
    return username


def refresh(refresh_token: str) -> dict:
    client_id = _unverified_claims(refresh_token).get("azp")
    if not client_id:
        raise AuthError("Token missing azp (client_id)")
    realm = realm_for_client_id(client_id)
    data = {
        "grant_type": "refresh_token",
        "refresh_token": refresh_token,
        "client_id": realm.client_id,
        "client_secret": realm.client_secret,
    }
    try:
        response = http_session().post(realm.token_url, data=data)
    except requests.RequestException as error:
        raise AuthError(f"Error refreshing token: {error.__class__.__name__}") from error
    if response.status_code != 200:
        raise AuthError("Token is invalid or expired")
    try:
        tokens = response.json()
        return {"access_token": tokens["access_token"], "refresh_token": tokens["refresh_token"]}
    except (ValueError, KeyError, TypeError) as error:
        raise AuthError("Error refreshing token: invalid answer from the identity provider") from error


def logout(refresh_token: str, access_token: str) -> None:
    client_id = _unverified_claims(refresh_token).get("azp")
    if not client_id:
        raise AuthError("Invalid token: missing azp")
    realm = realm_for_client_id(client_id)
    data = {"client_id": realm.client_id, "client_secret": realm.client_secret, "refresh_token": refresh_token}
    try:
        response = http_session().post(realm.logout_url, data=data, headers={"Authorization": f"Bearer {access_token}"})
    except requests.RequestException as error:
        raise IdentityProviderError(f"Error during logout: {error.__class__.__name__}") from error
    if response.status_code != 204:
        raise IdentityProviderError(f"Error during logout: identity provider answered {response.status_code}")
