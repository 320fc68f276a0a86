"""OIDC authentication against a fake Keycloak with several realms (spec 01 §3.5 to §3.7, §24 item 6)."""

from __future__ import annotations

import pytest

from admin_cohort.auth.oidc import jwks_clients
from tests.factories import UserFactory
from tests.fakes.http_server import Reply, closed_port_url
from tests.fakes.oidc_provider import DEFAULT_AUDIENCE, FakeOidcProvider, new_signing_key

C360_REDIRECT = "https://cohort360.example/login"
PORTAIL_REDIRECT = "https://portail.example/login"
LOGIN_REALMS = ["cohort360", "portail"]
USER_FIELDS = {"username", "firstname", "lastname", "email", "display_name", "created_by", "updated_by"}


@pytest.fixture
def idp(settings):
    """Two login realms, one realm accepted only for bearer tokens (extra issuer), one never configured."""
    with FakeOidcProvider() as provider:
        provider.add_realm("cohort360", client_id="cohort360-front", redirect_uri=C360_REDIRECT)
        provider.add_realm("portail", client_id="portail-front", redirect_uri=PORTAIL_REDIRECT)
        provider.add_realm("partners")
        provider.add_realm("rogue")
        settings.ENABLE_OIDC_AUTH = True
        settings.OIDC_SERVERS = [provider.realms[name].server_settings() for name in LOGIN_REALMS]
        settings.OIDC_EXTRA_SERVER_URLS = [provider.realms["partners"].issuer]
        settings.OIDC_AUDIENCE = [DEFAULT_AUDIENCE]
        jwks_clients.clear()
        yield provider
        jwks_clients.clear()


@pytest.fixture
def researcher(db):
    return UserFactory(username="4123456", firstname="Jane", lastname="DOE", password=None)


def oidc_login(client, **body):
    return client.post(
        "/auth/login/", body, format="json", HTTP_AUTHORIZATION="Bearer null", HTTP_AUTHORIZATIONMETHOD="OIDC"
    )


def oidc_headers(access_token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {access_token}", "HTTP_AUTHORIZATIONMETHOD": "OIDC"}


def logged_in(client, realm, user) -> dict:
    response = oidc_login(client, auth_code=realm.issue_code(user.username), redirect_uri=realm.redirect_uri)
    assert response.status_code == 200, response.content
    return response.json()


# -- login: authorization-code exchange ------------------------------------------------------------------


@pytest.mark.parametrize("realm_name", LOGIN_REALMS)
def test_login_exchanges_the_code_with_the_realm_of_the_redirect_uri(anonymous, idp, researcher, realm_name):
    realm = idp.realms[realm_name]
    code = realm.issue_code(researcher.username)

    response = oidc_login(anonymous, auth_code=code, redirect_uri=realm.redirect_uri)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"user", "last_login", "access_token", "refresh_token"}
    assert set(body["user"]) == USER_FIELDS
    assert body["user"]["username"] == researcher.username
    assert body["user"]["display_name"] == "Jane DOE (4123456)"
    assert body["last_login"]
    assert "password" not in body["user"]
    # the IdP's tokens are handed over verbatim
    assert body["access_token"] == realm.issued[-1]["access_token"]
    assert body["refresh_token"] == realm.issued[-1]["refresh_token"]
    [exchange] = idp.requests_to("/protocol/openid-connect/token")
    assert exchange.path == f"/realms/{realm_name}/protocol/openid-connect/token"
    assert exchange.form == {
        "client_id": realm.client_id,
        "client_secret": realm.client_secret,
        "redirect_uri": realm.redirect_uri,
        "grant_type": "authorization_code",
        "code": code,
    }
    assert anonymous.get("/users/", **oidc_headers(body["access_token"])).status_code == 200


def test_empty_redirect_uri_selects_the_first_realm(anonymous, idp, researcher):
    first = idp.realms["cohort360"]

    response = oidc_login(anonymous, auth_code=first.issue_code(researcher.username), redirect_uri="")

    assert response.status_code == 200, response.content
    [exchange] = idp.requests_to("/token")
    assert exchange.path == "/realms/cohort360/protocol/openid-connect/token"
    assert exchange.form["redirect_uri"] == C360_REDIRECT


def test_unknown_redirect_uri_is_refused_without_calling_the_idp(anonymous, idp, researcher):
    code = idp.realms["cohort360"].issue_code(researcher.username)

    response = oidc_login(anonymous, auth_code=code, redirect_uri="https://evil.example/login")

    assert response.status_code == 401
    assert "error" in response.json()
    assert idp.requests == []


@pytest.mark.parametrize("missing", ["auth_code", "redirect_uri"])
def test_missing_key_is_refused(anonymous, idp, missing):
    body = {"auth_code": "some-code", "redirect_uri": C360_REDIRECT}
    del body[missing]

    response = oidc_login(anonymous, **body)

    assert response.status_code == 401
    assert response.json() == {"error": f"Missing `'{missing}'`"}
    assert idp.requests == []


def test_code_refused_by_the_idp(anonymous, idp, researcher):
    realm = idp.realms["portail"]
    code = realm.issue_code(researcher.username)
    assert oidc_login(anonymous, auth_code=code, redirect_uri=PORTAIL_REDIRECT).status_code == 200

    for bad_code in (code, "never-issued"):  # codes are single-use
        response = oidc_login(anonymous, auth_code=bad_code, redirect_uri=PORTAIL_REDIRECT)
        assert response.status_code == 401
        assert response.json() == {"error": "Invalid username or password"}


def test_code_of_another_realm_is_refused(anonymous, idp, researcher):
    code = idp.realms["portail"].issue_code(researcher.username)

    response = oidc_login(anonymous, auth_code=code, redirect_uri=C360_REDIRECT)

    assert response.status_code == 401
    assert idp.requests_to("/realms/cohort360/protocol/openid-connect/token")


def test_wrong_client_secret_is_refused(anonymous, idp, researcher, settings):
    settings.OIDC_SERVERS = [{**settings.OIDC_SERVERS[0], "client_secret": "wrong"}]
    code = idp.realms["cohort360"].issue_code(researcher.username)

    response = oidc_login(anonymous, auth_code=code, redirect_uri=C360_REDIRECT)

    assert response.status_code == 401
    assert response.json() == {"error": "Invalid username or password"}


def test_idp_down(anonymous, idp, researcher, settings):
    settings.OIDC_SERVERS = [{**settings.OIDC_SERVERS[0], "issuer": f"{closed_port_url()}/realms/cohort360"}]

    response = oidc_login(anonymous, auth_code="any-code", redirect_uri=C360_REDIRECT)

    assert response.status_code == 401
    assert response.json()["error"].startswith("Error issuing tokens")


@pytest.mark.parametrize(
    "reply",
    [Reply(json=["not", "an", "object"]), Reply(body="<html>proxy</html>"), Reply(json={"access_token": "garbage"})],
    ids=["json-list", "not-json", "bad-token"],
)
def test_malformed_idp_answer(anonymous, idp, researcher, reply):
    idp.reply("POST", "/realms/cohort360/protocol/openid-connect/token", reply)

    response = oidc_login(anonymous, auth_code="any-code", redirect_uri=C360_REDIRECT)

    assert response.status_code == 401
    assert "error" in response.json()


def test_user_unknown_locally_is_not_provisioned(anonymous, idp, db):
    code = idp.realms["cohort360"].issue_code("4999999")

    response = oidc_login(anonymous, auth_code=code, redirect_uri=C360_REDIRECT)

    assert response.status_code == 401
    assert response.json() == {"error": "User matching query does not exist."}


def test_machine_user_cannot_log_in_through_the_idp(anonymous, idp, settings, db):
    UserFactory(username=settings.QUERY_EXECUTOR_USERNAME, password=None)
    code = idp.realms["cohort360"].issue_code(settings.QUERY_EXECUTOR_USERNAME)

    assert oidc_login(anonymous, auth_code=code, redirect_uri=C360_REDIRECT).status_code == 401


def test_oidc_login_when_oidc_is_disabled(anonymous, idp, researcher, settings):
    settings.ENABLE_OIDC_AUTH = False
    code = idp.realms["cohort360"].issue_code(researcher.username)

    response = oidc_login(anonymous, auth_code=code, redirect_uri=C360_REDIRECT)

    assert response.status_code == 401
    assert idp.requests == []


# -- bearer tokens on API calls --------------------------------------------------------------------------


@pytest.mark.parametrize("realm_name", [*LOGIN_REALMS, "partners"])
def test_bearer_token_of_any_accepted_issuer(anonymous, idp, researcher, realm_name):
    token = idp.realms[realm_name].mint_access_token(researcher.username)

    response = anonymous.get("/users/", **oidc_headers(token))

    assert response.status_code == 200, response.content
    assert idp.requests_to(f"/realms/{realm_name}/protocol/openid-connect/certs", method="GET")


REFUSED_TOKENS = {
    "unknown-issuer": lambda idp, username: idp.realms["rogue"].mint_access_token(username),
    "issuer-claim-of-another-realm": lambda idp, username: idp.realms["rogue"].mint_access_token(
        username, issuer=idp.realms["cohort360"].issuer
    ),
    "wrong-audience": lambda idp, username: idp.realms["cohort360"].mint_access_token(username, audience="other-app"),
    "no-audience": lambda idp, username: idp.realms["cohort360"].mint_access_token(username, audience=[]),
    "expired": lambda idp, username: idp.realms["cohort360"].mint_access_token(username, expires_in=-120),
    "bad-signature": lambda idp, username: idp.realms["cohort360"].mint_access_token(
        username, signing_key=new_signing_key(), kid=idp.realms["cohort360"].active_key.kid
    ),
    "unknown-kid": lambda idp, username: idp.realms["cohort360"].mint_access_token(
        username, signing_key=new_signing_key()
    ),
    "hs256-keyed-with-public-key": lambda idp, username: idp.realms["cohort360"].mint_hs256_with_public_key(username),
    "unknown-user": lambda idp, username: idp.realms["cohort360"].mint_access_token("4999999"),
    "no-username": lambda idp, username: idp.realms["cohort360"].mint_access_token(username, preferred_username=None),
    "not-a-jwt": lambda idp, username: "not-a-jwt",
}


@pytest.mark.parametrize("make_token", REFUSED_TOKENS.values(), ids=REFUSED_TOKENS.keys())
def test_refused_bearer_token(anonymous, idp, researcher, make_token):
    token = make_token(idp, researcher.username)

    response = anonymous.get("/users/", **oidc_headers(token))

    assert response.status_code == 403
    assert idp.requests_to("/realms/rogue/protocol/openid-connect/certs") == []


def test_bearer_token_refused_when_oidc_is_disabled(anonymous, idp, researcher, settings):
    token = idp.realms["cohort360"].mint_access_token(researcher.username)
    settings.ENABLE_OIDC_AUTH = False

    assert anonymous.get("/users/", **oidc_headers(token)).status_code == 403
    assert idp.requests == []


def test_oidc_token_is_not_a_local_jwt(anonymous, idp, researcher):
    token = idp.realms["cohort360"].mint_access_token(researcher.username)

    response = anonymous.get("/users/", HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_AUTHORIZATIONMETHOD="JWT")

    assert response.status_code == 403


def test_local_jwt_is_not_an_oidc_token(anonymous, idp, researcher, make_client):
    local_token = make_client(researcher).tokens.access_token

    response = anonymous.get("/users/", **oidc_headers(local_token))

    assert response.status_code == 403


def test_jwks_unreachable(anonymous, idp, researcher, settings):
    issuer = f"{closed_port_url()}/realms/gone"
    settings.OIDC_EXTRA_SERVER_URLS = [issuer]
    token = idp.realms["cohort360"].mint_access_token(researcher.username, issuer=issuer)

    assert anonymous.get("/users/", **oidc_headers(token)).status_code == 403


UNUSABLE_JWKS = {
    "server-error": Reply(status=500, body="oops"),
    "not-json": Reply(body="<html>login</html>"),
    "json-list": Reply(json=[]),
    "no-keys": Reply(json={"keys": []}),
    "unsupported-key": Reply(json={"keys": [{"kty": "XYZ", "kid": "k1"}]}),
}


@pytest.mark.parametrize("reply", UNUSABLE_JWKS.values(), ids=UNUSABLE_JWKS.keys())
def test_unusable_jwks(anonymous, idp, researcher, reply):
    idp.reply("GET", "/realms/cohort360/protocol/openid-connect/certs", reply)
    token = idp.realms["cohort360"].mint_access_token(researcher.username)

    assert anonymous.get("/users/", **oidc_headers(token)).status_code == 403


def test_keys_are_cached_between_requests(anonymous, idp, researcher):
    realm = idp.realms["cohort360"]
    for _ in range(3):
        assert anonymous.get("/users/", **oidc_headers(realm.mint_access_token(researcher.username))).status_code == 200

    assert len(idp.requests_to("/realms/cohort360/protocol/openid-connect/certs")) == 1


def test_token_signed_by_a_rotated_key_is_accepted(anonymous, idp, researcher, settings):
    settings.OIDC_JWKS_REFETCH_COOLDOWN_SECONDS = 0
    realm = idp.realms["cohort360"]
    old_token = realm.mint_access_token(researcher.username)
    assert anonymous.get("/users/", **oidc_headers(old_token)).status_code == 200

    realm.rotate_keys(drop_old=True)
    new_token = realm.mint_access_token(researcher.username)

    assert anonymous.get("/users/", **oidc_headers(new_token)).status_code == 200
    assert len(idp.requests_to("/realms/cohort360/protocol/openid-connect/certs")) == 2
    # the refetched key set no longer holds the withdrawn key
    assert anonymous.get("/users/", **oidc_headers(old_token)).status_code == 403


def test_unknown_kid_is_refetched_until_the_idp_publishes_it(anonymous, idp, researcher, settings):
    settings.OIDC_JWKS_REFETCH_COOLDOWN_SECONDS = 0
    realm = idp.realms["cohort360"]
    upcoming = new_signing_key()
    token = realm.mint_access_token(researcher.username, signing_key=upcoming)
    assert anonymous.get("/users/", **oidc_headers(token)).status_code == 403

    realm.keys.append(upcoming)

    assert anonymous.get("/users/", **oidc_headers(token)).status_code == 200


def test_unknown_kids_cannot_make_the_backend_flood_the_idp(anonymous, idp, researcher, settings):
    settings.OIDC_JWKS_REFETCH_COOLDOWN_SECONDS = 60
    realm = idp.realms["cohort360"]
    assert anonymous.get("/users/", **oidc_headers(realm.mint_access_token(researcher.username))).status_code == 200

    for _ in range(5):
        token = realm.mint_access_token(researcher.username, signing_key=new_signing_key())
        assert anonymous.get("/users/", **oidc_headers(token)).status_code == 403

    assert len(idp.requests_to("/realms/cohort360/protocol/openid-connect/certs")) == 1


# -- refresh ---------------------------------------------------------------------------------------------


def oidc_refresh(client, refresh_token, access_token: str | None = None):
    """Without an access token, only the method header is sent (refresh relies on the refresh token)."""
    headers = oidc_headers(access_token) if access_token else {"HTTP_AUTHORIZATIONMETHOD": "OIDC"}
    return client.post("/auth/refresh/", {"refresh_token": refresh_token}, format="json", **headers)


@pytest.mark.parametrize("realm_name", LOGIN_REALMS)
def test_refresh_goes_to_the_realm_of_the_token_client(anonymous, idp, researcher, realm_name):
    realm = idp.realms[realm_name]
    tokens = logged_in(anonymous, realm, researcher)
    idp.clear_requests()

    response = oidc_refresh(anonymous, tokens["refresh_token"], tokens["access_token"])

    assert response.status_code == 200, response.content
    assert response.json() == {
        "access_token": realm.issued[-1]["access_token"],
        "refresh_token": realm.issued[-1]["refresh_token"],
    }
    [call] = idp.requests
    assert call.path == f"/realms/{realm_name}/protocol/openid-connect/token"
    assert call.form == {
        "grant_type": "refresh_token",
        "refresh_token": tokens["refresh_token"],
        "client_id": realm.client_id,
        "client_secret": realm.client_secret,
    }
    assert anonymous.get("/users/", **oidc_headers(response.json()["access_token"])).status_code == 200


def test_refresh_works_with_an_expired_access_token(anonymous, idp, researcher):
    realm = idp.realms["cohort360"]
    refresh_token = realm.mint_refresh_token(researcher.username)
    expired = realm.mint_access_token(researcher.username, expires_in=-60)

    assert oidc_refresh(anonymous, refresh_token, expired).status_code == 200


def test_refresh_refused_by_the_idp(anonymous, idp, researcher):
    realm = idp.realms["cohort360"]
    idp.reply("POST", "/realms/cohort360/protocol/openid-connect/token", Reply(400, json={"error": "invalid_grant"}))

    response = oidc_refresh(anonymous, realm.mint_refresh_token(researcher.username))

    assert response.status_code == 400
    assert response.json() == {"error": "Token is invalid or expired"}


@pytest.mark.parametrize(
    "make_token",
    [
        lambda idp, username: "not-a-jwt",
        lambda idp, username: idp.realms["cohort360"].mint_refresh_token(username, client_id="unknown-client"),
        lambda idp, username: idp.realms["cohort360"].mint_access_token(username, azp=None),
    ],
    ids=["not-a-jwt", "unknown-client", "no-azp"],
)
def test_refresh_with_an_unusable_token(anonymous, idp, researcher, make_token):
    response = oidc_refresh(anonymous, make_token(idp, researcher.username))

    assert response.status_code == 400
    assert "error" in response.json()
    assert idp.requests == []


def test_refresh_when_the_idp_is_down(anonymous, idp, researcher, settings):
    refresh_token = idp.realms["cohort360"].mint_refresh_token(researcher.username)
    settings.OIDC_SERVERS = [{**settings.OIDC_SERVERS[0], "issuer": f"{closed_port_url()}/realms/cohort360"}]

    response = oidc_refresh(anonymous, refresh_token)

    assert response.status_code == 400
    assert response.json()["error"].startswith("Error refreshing token")


@pytest.mark.parametrize("body", [{}, {"refresh_token": None}, {"refresh_token": ["a"]}])
def test_refresh_without_a_token(anonymous, idp, body):
    response = anonymous.post("/auth/refresh/", body, format="json", HTTP_AUTHORIZATIONMETHOD="OIDC")

    assert response.status_code == 400
    assert "error" in response.json()


# -- logout ----------------------------------------------------------------------------------------------


def oidc_logout(client, access_token, body):
    return client.post("/auth/logout/", body, format="json", **oidc_headers(access_token))


@pytest.mark.parametrize("realm_name", LOGIN_REALMS)
def test_logout_closes_the_idp_session(anonymous, idp, researcher, realm_name):
    realm = idp.realms[realm_name]
    tokens = logged_in(anonymous, realm, researcher)
    idp.clear_requests()

    response = oidc_logout(anonymous, tokens["access_token"], {"refresh_token": tokens["refresh_token"]})

    assert response.status_code == 200, response.content
    assert response.json() == {}
    [call] = idp.requests_to("/protocol/openid-connect/logout", method="POST")
    assert call.path == f"/realms/{realm_name}/protocol/openid-connect/logout"
    assert call.form == {
        "client_id": realm.client_id,
        "client_secret": realm.client_secret,
        "refresh_token": tokens["refresh_token"],
    }
    assert call.headers["Authorization"] == f"Bearer {tokens['access_token']}"
    # the IdP revoked the session: its refresh token is now refused
    assert oidc_refresh(anonymous, tokens["refresh_token"]).status_code == 400


def test_logout_refused_by_the_idp(anonymous, idp, researcher):
    tokens = logged_in(anonymous, idp.realms["cohort360"], researcher)
    assert oidc_logout(anonymous, tokens["access_token"], {"refresh_token": tokens["refresh_token"]}).status_code == 200

    response = oidc_logout(anonymous, tokens["access_token"], {"refresh_token": tokens["refresh_token"]})

    assert response.status_code == 502
    assert response.json()["error"].startswith("Error during logout")


def test_logout_when_the_idp_is_down(anonymous, idp, researcher, settings):
    realm = idp.realms["cohort360"]
    access_token = realm.mint_access_token(researcher.username)
    refresh_token = realm.mint_refresh_token(researcher.username)
    settings.OIDC_SERVERS = [{**settings.OIDC_SERVERS[0], "issuer": f"{closed_port_url()}/realms/cohort360"}]
    settings.OIDC_EXTRA_SERVER_URLS = [realm.issuer]  # the access token itself still verifies

    response = oidc_logout(anonymous, access_token, {"refresh_token": refresh_token})

    assert response.status_code == 502
    assert response.json()["error"].startswith("Error during logout")


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({}, "Logout request missing `refresh_token`"),
        ({"refresh_token": None}, "Logout request missing `refresh_token`"),
        ({"refresh_token": "not-a-jwt"}, None),
        ({"refresh_token": "unknown-client"}, None),
    ],
    ids=["absent", "null", "not-a-jwt", "unknown-client"],
)
def test_logout_with_an_unusable_refresh_token(anonymous, idp, researcher, body, error):
    realm = idp.realms["cohort360"]
    if body.get("refresh_token") == "unknown-client":
        body = {"refresh_token": realm.mint_refresh_token(researcher.username, client_id="unknown-client")}

    response = oidc_logout(anonymous, realm.mint_access_token(researcher.username), body)

    assert response.status_code == 400
    assert response.json()["error"] == (error or response.json()["error"])
    assert idp.requests_to("/logout") == []


def test_logout_needs_authentication(anonymous, idp, researcher):
    refresh_token = idp.realms["cohort360"].mint_refresh_token(researcher.username)

    response = anonymous.post("/auth/logout/", {"refresh_token": refresh_token}, format="json")

    assert response.status_code == 403
    assert idp.requests == []
