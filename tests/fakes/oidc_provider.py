"""A fake Keycloak-like identity provider serving several realms (spec 01 §3.5 to §3.7).

Each realm lives at `<provider.url>/realms/<name>` (its issuer) and serves, under `/protocol/openid-connect/`:

* `certs`  — the JWKS of the realm's published RSA keys (one `kid` each; `rotate_keys()` adds a new one);
* `token`  — `grant_type=authorization_code` (codes from `issue_code()`) and `grant_type=refresh_token`;
  bad client credentials → 401 `unauthorized_client`, unknown code or refresh token → 400 `invalid_grant`;
* `logout` — 204 for a live refresh token of the calling client (which it then revokes), else 400/401.

Access tokens are RS256 JWTs with `iss`, `aud`, `exp`, `preferred_username` and `azp`; refresh tokens are
HS256 JWTs signed with a realm secret, carrying `azp` like Keycloak's. `mint_access_token()` builds tokens
directly for bearer-token tests (expired, wrong audience, unknown kid, foreign key…).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.fakes.http_server import FakeServer, RecordedRequest, Reply

DEFAULT_AUDIENCE = "cohort360"
_OIDC = "/realms/{realm}/protocol/openid-connect"


@dataclass(frozen=True)
class SigningKey:
    kid: str
    private_key: rsa.RSAPrivateKey

    def jwk(self) -> dict:
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.private_key.public_key(), as_dict=True)
        return {**public, "kid": self.kid, "use": "sig", "alg": "RS256"}

    def public_pem(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def new_signing_key() -> SigningKey:
    return SigningKey(kid=uuid.uuid4().hex, private_key=rsa.generate_private_key(public_exponent=65537, key_size=2048))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeRealm:
    def __init__(
        self, provider: FakeOidcProvider, name: str, *, client_id: str, client_secret: str, redirect_uri: str, audience
    ):
        self.provider = provider
        self.name = name
        self.client_id = client_id
        self.client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.audience = audience
        self.keys: list[SigningKey] = [new_signing_key()]
        self._refresh_secret = secrets.token_bytes(32)
        self._codes: dict[str, str] = {}
        self._live_refresh_tokens: set[str] = set()
        # every token response given, to compare with what the backend passes on to its clients
        self.issued: list[dict] = []

    @property
    def issuer(self) -> str:
        return f"{self.provider.url}/realms/{self.name}"

    @property
    def active_key(self) -> SigningKey:
        return self.keys[-1]

    def server_settings(self) -> dict[str, str]:
        """This realm as an entry of settings.OIDC_SERVERS."""
        return {
            "issuer": self.issuer,
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "redirect_uri": self.redirect_uri,
        }

    def rotate_keys(self, *, drop_old: bool = False) -> SigningKey:
        """Publish a new key that signs every token from now on."""
        key = new_signing_key()
        self.keys = [key] if drop_old else [*self.keys, key]
        return key

    def issue_code(self, username: str) -> str:
        """An authorization code, as the browser would receive after logging `username` in."""
        code = secrets.token_urlsafe(16)
        self._codes[code] = username
        return code

    # -- tokens --------------------------------------------------------------------------------------

    def mint_access_token(
        self,
        username: str,
        *,
        audience: str | list[str] | None = None,
        expires_in: int = 300,
        issuer: str | None = None,
        signing_key: SigningKey | None = None,
        kid: str | None = None,
        **claims,
    ) -> str:
        """`signing_key` defaults to the active key; `kid` overrides the header (e.g. to lie about the key)."""
        key = signing_key or self.active_key
        payload = self._access_claims(username, audience=audience, expires_in=expires_in, issuer=issuer) | claims
        return jwt.encode(payload, key.private_key, algorithm="RS256", headers={"kid": kid or key.kid})

    def mint_hs256_with_public_key(self, username: str) -> str:
        """Algorithm confusion: HS256 keyed with the realm's public PEM, naming the realm's published kid.

        Built by hand because PyJWT rightly refuses to use a PEM as an HMAC secret.
        """
        header = {"alg": "HS256", "typ": "JWT", "kid": self.active_key.kid}
        payload = self._access_claims(username, audience=None, expires_in=300, issuer=None)
        signing_input = f"{_b64url(json.dumps(header).encode())}.{_b64url(json.dumps(payload).encode())}"
        signature = hmac.new(self.active_key.public_pem(), signing_input.encode(), hashlib.sha256).digest()
        return f"{signing_input}.{_b64url(signature)}"

    def mint_refresh_token(self, username: str, *, client_id: str | None = None) -> str:
        now = int(time.time())
        payload = {
            "iss": self.issuer,
            "aud": self.issuer,
            "sub": username,
            "typ": "Refresh",
            "azp": client_id or self.client_id,
            "sid": uuid.uuid4().hex,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + 1800,
        }
        token = jwt.encode(payload, self._refresh_secret, algorithm="HS256")
        self._live_refresh_tokens.add(token)
        return token

    def token_response(self, username: str) -> dict:
        return {
            "access_token": self.mint_access_token(username),
            "expires_in": 300,
            "refresh_expires_in": 1800,
            "refresh_token": self.mint_refresh_token(username),
            "token_type": "Bearer",
            "not-before-policy": 0,
            "session_state": uuid.uuid4().hex,
            "scope": "openid profile email",
        }

    def _access_claims(self, username: str, *, audience, expires_in: int, issuer: str | None) -> dict:
        now = int(time.time())
        return {
            "iss": issuer or self.issuer,
            "aud": self.audience if audience is None else audience,
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, username)),
            "typ": "Bearer",
            "azp": self.client_id,
            "preferred_username": username,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + expires_in,
        }

    def _refresh_token_owner(self, token: str) -> str | None:
        """The username of a live refresh token issued to this realm's client, else None."""
        if token not in self._live_refresh_tokens:
            return None
        claims = jwt.decode(token, self._refresh_secret, algorithms=["HS256"], audience=self.issuer)
        return claims["sub"] if claims.get("azp") == self.client_id else None

    # -- endpoints -----------------------------------------------------------------------------------

    def handle_certs(self, request: RecordedRequest) -> Reply:
        return Reply(json={"keys": [key.jwk() for key in self.keys]})

    def handle_token(self, request: RecordedRequest) -> Reply:
        form = request.form
        refused = self._refuse_client(form)
        if refused:
            return refused
        grant_type = form.get("grant_type")
        if grant_type == "authorization_code":
            username = self._codes.pop(form.get("code", ""), None)  # codes are single-use
            if username is None or form.get("redirect_uri") != self.redirect_uri:
                return _invalid_grant("Code not valid")
            return self._issue(username)
        if grant_type == "refresh_token":
            username = self._refresh_token_owner(form.get("refresh_token", ""))
            if username is None:
                return _invalid_grant("Invalid refresh token")
            return self._issue(username)
        return Reply(status=400, json={"error": "unsupported_grant_type"})

    def _issue(self, username: str) -> Reply:
        tokens = self.token_response(username)
        self.issued.append(tokens)
        return Reply(json=tokens)

    def handle_logout(self, request: RecordedRequest) -> Reply:
        form = request.form
        refused = self._refuse_client(form)
        if refused:
            return refused
        token = form.get("refresh_token", "")
        if self._refresh_token_owner(token) is None:
            return _invalid_grant("Invalid refresh token")
        self._live_refresh_tokens.discard(token)
        return Reply(status=204)

    def _refuse_client(self, form: dict[str, str]) -> Reply | None:
        if form.get("client_id") == self.client_id and hmac.compare_digest(
            form.get("client_secret", ""), self.client_secret
        ):
            return None
        return Reply(
            status=401,
            json={"error": "unauthorized_client", "error_description": "Invalid client or Invalid client credentials"},
        )


def _invalid_grant(description: str) -> Reply:
    return Reply(status=400, json={"error": "invalid_grant", "error_description": description})


class FakeOidcProvider(FakeServer):
    def __init__(self) -> None:
        super().__init__()
        self.realms: dict[str, FakeRealm] = {}
        self.route("GET", f"{_OIDC}/certs", self._for_realm(FakeRealm.handle_certs))
        self.route("POST", f"{_OIDC}/token", self._for_realm(FakeRealm.handle_token))
        self.route("POST", f"{_OIDC}/logout", self._for_realm(FakeRealm.handle_logout))

    def add_realm(
        self,
        name: str,
        *,
        client_id: str | None = None,
        client_secret: str | None = None,
        redirect_uri: str = "",
        audience: str | list[str] = DEFAULT_AUDIENCE,
    ) -> FakeRealm:
        realm = FakeRealm(
            self,
            name,
            client_id=client_id or f"{name}-client",
            client_secret=client_secret or f"{name}-secret",
            redirect_uri=redirect_uri,
            audience=audience,
        )
        self.realms[name] = realm
        return realm

    def _for_realm(self, handler):
        def dispatch(request: RecordedRequest, realm: str) -> Reply:
            if realm not in self.realms:
                return Reply(status=404, json={"error": "Realm does not exist"})
            return handler(self.realms[realm], request)

        return dispatch
