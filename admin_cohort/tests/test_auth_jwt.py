"""Credential login, refresh, logout and bearer-token authentication with locally issued JWTs."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import jwt
import pytest
from django.conf import settings

from admin_cohort.models import RequestLog, User
from admin_cohort.tests.test_configuration import run_python
from tests.factories import UserFactory

PASSWORD = "pass-word-123"
pytestmark = pytest.mark.django_db


def login(client, username: str, password: str = PASSWORD, fmt: str = "multipart", **headers):
    headers.setdefault("HTTP_AUTHORIZATIONMETHOD", "JWT")
    headers.setdefault("HTTP_AUTHORIZATION", "Bearer null")
    return client.post("/auth/login/", {"username": username, "password": password}, format=fmt, **headers)


def bearer(token: str, method: str = "JWT") -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}", "HTTP_AUTHORIZATIONMETHOD": method}


class TestLogin:
    def test_multipart_login_returns_the_documented_shape(self, anonymous, user):
        response = login(anonymous, user.username)
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"user", "last_login", "access_token", "refresh_token"}
        assert body["user"] == {
            "username": user.username,
            "firstname": user.firstname,
            "lastname": user.lastname,
            "email": user.email,
            "display_name": f"{user.firstname} {user.lastname} ({user.username})",
            "created_by": None,
            "updated_by": None,
        }
        assert body["last_login"].endswith("Z") and len(body["last_login"]) == 24
        user.refresh_from_db()
        assert user.last_login is not None
        claims = jwt.decode(body["access_token"], settings.JWT_SIGNING_KEY, algorithms=["HS256"])
        assert claims["token_type"] == "access" and claims["username"] == user.username
        assert claims["exp"] - claims["iat"] == 300
        assert "sessionid" in response.cookies

    def test_json_login_and_missing_method_header_defaults_to_jwt(self, anonymous, user):
        response = anonymous.post("/auth/login/", {"username": user.username, "password": PASSWORD}, format="json")
        assert response.status_code == 200

    def test_wrong_password_and_unknown_user_give_the_same_401(self, anonymous, user):
        wrong = login(anonymous, user.username, "nope")
        unknown = login(anonymous, "nobody", "nope")
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.json() == unknown.json() == {"error": "Invalid username or password!"}

    @pytest.mark.parametrize("body", [{}, {"username": "x"}, {"password": "x"}])
    def test_missing_fields_give_400(self, anonymous, body):
        response = anonymous.post("/auth/login/", body, format="json", HTTP_AUTHORIZATIONMETHOD="JWT")
        assert response.status_code == 400

    def test_malformed_json_gives_400(self, anonymous):
        response = anonymous.generic("POST", "/auth/login/", "{not json", content_type="application/json")
        assert response.status_code == 400

    def test_unknown_method_gives_401(self, anonymous, user):
        assert login(anonymous, user.username, HTTP_AUTHORIZATIONMETHOD="SAML").status_code == 401

    def test_oidc_method_while_disabled_gives_401(self, anonymous, user):
        assert login(anonymous, user.username, HTTP_AUTHORIZATIONMETHOD="OIDC").status_code == 401

    @pytest.mark.parametrize("method", ["get", "put", "patch", "delete"])
    def test_other_methods_give_405(self, anonymous, method):
        assert getattr(anonymous, method)("/auth/login/").status_code == 405

    def test_stale_authorization_header_is_ignored(self, anonymous, user):
        assert login(anonymous, user.username, HTTP_AUTHORIZATION="Token a b c").status_code == 200

    def test_login_is_recorded_without_the_password_or_tokens(self, anonymous, user):
        login(anonymous, user.username)
        log = RequestLog.objects.get(path="/auth/login/")
        # The audit row names who logged in (the request itself carried no credentials).
        assert (log.method, log.status_code, log.username_persistent) == ("POST", 200, user.username)
        stored = " ".join(str(getattr(log, f)) for f in ("data", "query_params", "response", "errors"))
        assert PASSWORD not in stored and "eyJ" not in stored

    def test_legacy_sha256_password_is_accepted_then_rehashed(self, anonymous):
        import hashlib

        legacy = UserFactory(password=hashlib.sha256(b"old-secret").hexdigest())
        User.objects.filter(pk=legacy.pk).update(password=hashlib.sha256(b"old-secret").hexdigest())
        assert login(anonymous, legacy.username, "old-secret").status_code == 200
        legacy.refresh_from_db()
        assert "$" in legacy.password
        assert login(anonymous, legacy.username, "old-secret").status_code == 200

    def test_user_without_password_cannot_log_in(self, anonymous):
        nopass = UserFactory(password=None)
        nopass.set_unusable_password()
        nopass.save()
        assert login(anonymous, nopass.username, "").status_code == 400
        assert login(anonymous, nopass.username, "anything").status_code == 401

    def test_machine_users_cannot_log_in_with_a_password(self, anonymous):
        machine = UserFactory(username=settings.QUERY_EXECUTOR_USERNAME)
        machine.set_password(PASSWORD)
        machine.save()
        assert login(anonymous, machine.username).status_code == 401


class TestThrottling:
    def test_repeated_failures_for_a_username_are_throttled(self, anonymous, user, settings):
        settings.LOGIN_THROTTLE_MAX_FAILURES = 3
        for _ in range(3):
            assert login(anonymous, user.username, "bad").status_code == 401
        throttled = login(anonymous, user.username)
        assert throttled.status_code == 429
        assert "error" in throttled.json()
        assert login(anonymous, UserFactory().username).status_code == 200

    def test_repeated_failures_from_an_address_are_throttled(self, anonymous, user, settings):
        settings.LOGIN_THROTTLE_MAX_FAILURES_PER_ADDRESS = 4
        for i in range(4):
            login(anonymous, f"someone{i}", "bad")
        assert login(anonymous, user.username).status_code == 429
        assert login(anonymous, user.username, REMOTE_ADDR="10.9.9.9").status_code == 200

    def test_success_resets_the_username_counter(self, anonymous, user, settings):
        settings.LOGIN_THROTTLE_MAX_FAILURES = 3
        login(anonymous, user.username, "bad")
        login(anonymous, user.username, "bad")
        assert login(anonymous, user.username).status_code == 200
        login(anonymous, user.username, "bad")
        login(anonymous, user.username, "bad")
        assert login(anonymous, user.username).status_code == 200


class TestBearerAuthentication:
    def test_access_token_authenticates(self, anonymous, user):
        token = login(anonymous, user.username).json()["access_token"]
        assert anonymous.get(f"/users/{user.username}/", **bearer(token)).status_code == 200

    @pytest.mark.parametrize(
        "headers",
        [
            {},
            {"HTTP_AUTHORIZATION": "Bearer null", "HTTP_AUTHORIZATIONMETHOD": "JWT"},
            {"HTTP_AUTHORIZATION": "Token abc", "HTTP_AUTHORIZATIONMETHOD": "JWT"},
            {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"},
            {"HTTP_AUTHORIZATION": "Bearer"},
            {"HTTP_AUTHORIZATION": "Bearer a b", "HTTP_AUTHORIZATIONMETHOD": "JWT"},
            {"HTTP_AUTHORIZATION": "Bearer not.a.jwt", "HTTP_AUTHORIZATIONMETHOD": "JWT"},
            {"HTTP_AUTHORIZATION": "Bearer \u00e9\u00e9", "HTTP_AUTHORIZATIONMETHOD": "JWT"},
        ],
        ids=["none", "bearer-null", "token-scheme", "basic", "bearer-alone", "three-parts", "garbage", "non-ascii"],
    )
    def test_bad_headers_are_403_never_500(self, anonymous, headers):
        response = anonymous.get("/users/", **headers)
        assert response.status_code == 403
        assert "detail" in response.json()

    def test_missing_or_unknown_method_header_is_anonymous(self, anonymous, user):
        token = login(anonymous, user.username).json()["access_token"]
        assert anonymous.get("/users/", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 403
        assert anonymous.get("/users/", **bearer(token, "SAML")).status_code == 403
        assert anonymous.get("/users/", **bearer(token, "OIDC")).status_code == 403

    def test_refresh_token_is_refused_as_access_token(self, anonymous, user):
        refresh_token = login(anonymous, user.username).json()["refresh_token"]
        assert anonymous.get("/users/", **bearer(refresh_token)).status_code == 403

    def test_expired_token_is_refused(self, anonymous, user, settings):
        settings.JWT_ACCESS_TOKEN_LIFETIME = timedelta(seconds=1)
        token = login(anonymous, user.username).json()["access_token"]
        time.sleep(2.1)
        assert anonymous.get("/users/", **bearer(token)).status_code == 403

    def test_token_signed_with_another_key_is_refused(self, anonymous, user):
        forged = jwt.encode(
            {"token_type": "access", "username": user.username, "sid": "s", "jti": "j", "iat": 1, "exp": 4102444800},
            "another-key-of-at-least-thirty-two-bytes",
            algorithm="HS256",
        )
        assert anonymous.get("/users/", **bearer(forged)).status_code == 403

    def test_token_of_a_deleted_user_is_refused(self, anonymous, user):
        token = login(anonymous, user.username).json()["access_token"]
        user.delete()
        assert anonymous.get("/users/", **bearer(token)).status_code == 403


class TestRefreshAndLogout:
    def test_refresh_rotates_and_the_old_refresh_token_stops_working(self, anonymous, user):
        tokens = login(anonymous, user.username).json()
        refreshed = anonymous.post("/auth/refresh/", {"refresh_token": tokens["refresh_token"]}, format="json")
        assert refreshed.status_code == 200
        new = refreshed.json()
        assert set(new) == {"access_token", "refresh_token"}
        assert anonymous.get("/users/", **bearer(new["access_token"])).status_code == 200
        replay = anonymous.post("/auth/refresh/", {"refresh_token": tokens["refresh_token"]}, format="json")
        assert replay.status_code == 400
        # Reusing a rotated refresh token revokes the whole login (it may have been stolen).
        assert anonymous.get("/users/", **bearer(new["access_token"])).status_code == 403

    def test_refresh_works_with_an_expired_access_token(self, anonymous, user, settings):
        settings.JWT_ACCESS_TOKEN_LIFETIME = timedelta(seconds=1)
        tokens = login(anonymous, user.username).json()
        time.sleep(2.1)
        response = anonymous.post(
            "/auth/refresh/",
            {"refresh_token": tokens["refresh_token"]},
            format="json",
            **bearer(tokens["access_token"]),
        )
        assert response.status_code == 200

    @pytest.mark.parametrize("body", [{}, {"refresh_token": None}, {"refresh_token": 12}, {"refresh_token": "x.y.z"}])
    def test_bad_refresh_bodies_give_400(self, anonymous, body):
        response = anonymous.post("/auth/refresh/", body, format="json", HTTP_AUTHORIZATIONMETHOD="JWT")
        assert response.status_code == 400
        assert "error" in response.json()

    def test_access_token_is_refused_as_refresh_token(self, anonymous, user):
        access = login(anonymous, user.username).json()["access_token"]
        assert anonymous.post("/auth/refresh/", {"refresh_token": access}, format="json").status_code == 400

    def test_unknown_method_on_refresh_gives_400(self, anonymous, user):
        tokens = login(anonymous, user.username).json()
        response = anonymous.post(
            "/auth/refresh/", {"refresh_token": tokens["refresh_token"]}, format="json", HTTP_AUTHORIZATIONMETHOD="X"
        )
        assert response.status_code == 400

    def test_refresh_with_get_gives_405(self, anonymous):
        assert anonymous.get("/auth/refresh/").status_code == 405

    def test_logout_revokes_access_and_refresh_tokens_at_once(self, anonymous, user):
        tokens = login(anonymous, user.username).json()
        response = anonymous.post(
            "/auth/logout/", {"refresh_token": tokens["refresh_token"]}, format="json", **bearer(tokens["access_token"])
        )
        assert response.status_code == 200
        assert response.json() == {}
        assert anonymous.get("/users/", **bearer(tokens["access_token"])).status_code == 403
        again = anonymous.post("/auth/refresh/", {"refresh_token": tokens["refresh_token"]}, format="json")
        assert again.status_code == 400

    def test_logout_does_not_revoke_another_login(self, anonymous, user):
        first = login(anonymous, user.username).json()
        second = login(anonymous, user.username).json()
        anonymous.post("/auth/logout/", {}, format="json", **bearer(first["access_token"]))
        assert anonymous.get("/users/", **bearer(second["access_token"])).status_code == 200

    def test_logout_needs_authentication_and_post(self, anonymous, user):
        assert anonymous.post("/auth/logout/", {}, format="json").status_code == 403
        token = login(anonymous, user.username).json()["access_token"]
        assert anonymous.patch("/auth/logout/", {}, format="json", **bearer(token)).status_code == 405

    def test_logout_with_null_refresh_token_and_drops_csrf_cookie(self, anonymous, user):
        token = login(anonymous, user.username).json()["access_token"]
        response = anonymous.post("/auth/logout/", {"refresh_token": None}, format="json", **bearer(token))
        assert response.status_code == 200
        assert response.cookies["csrftoken"]["max-age"] == 0


class TestMachineTokens:
    @pytest.fixture
    def query_executor(self, db):
        return UserFactory(username=settings.QUERY_EXECUTOR_USERNAME)

    def test_machine_token_authenticates_without_method_header(self, anonymous, query_executor):
        response = anonymous.get(f"/users/{query_executor.username}/", HTTP_AUTHORIZATION="Bearer qe-static-token")
        assert response.status_code == 200

    def test_wrong_or_unset_machine_tokens_do_not_authenticate(self, anonymous, query_executor, settings):
        assert anonymous.get("/users/", HTTP_AUTHORIZATION="Bearer qe-static-tokeN").status_code == 403
        settings.SOLR_ETL_TOKEN = ""
        assert anonymous.get("/users/", HTTP_AUTHORIZATION="Bearer ").status_code == 403

    def test_machine_token_of_a_missing_user_is_anonymous_not_500(self, anonymous):
        assert anonymous.get("/users/", HTTP_AUTHORIZATION="Bearer etl-static-token").status_code == 403

    def test_jwt_for_a_machine_user_is_refused(self, anonymous, query_executor):
        from admin_cohort.auth import jwt_tokens

        token = jwt_tokens.issue_pair(query_executor.username).access_token
        assert anonymous.get("/users/", **bearer(token)).status_code == 403


# ------------------------------------------------------------------ what a web process loads to check tokens

SHOW_TOKEN_LIBRARY = (
    "import sys, jwt; from jwt.algorithms import has_crypto; from django.conf import settings; "
    "token = jwt.encode({'username': 'u'}, settings.JWT_SIGNING_KEY, algorithm='HS256'); "
    "claims = jwt.decode(token, settings.JWT_SIGNING_KEY, algorithms=['HS256']); "
    "print(json.dumps({'hs256': claims['username'], 'rsa': has_crypto, 'loaded': 'cryptography' in sys.modules}))"
)


@pytest.mark.slow
def test_a_web_process_without_oidc_checks_its_tokens_without_the_rsa_backend():
    # 9 MiB of the process, never used: locally issued tokens are HS256.
    result = run_python(f"import json, admin_cohort.asgi; {SHOW_TOKEN_LIBRARY}", ENABLE_OIDC_AUTH="false")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"hs256": "u", "rsa": False, "loaded": False}


@pytest.mark.slow
def test_a_web_process_accepting_oidc_tokens_can_check_rsa_signatures():
    oidc = {
        "ENABLE_OIDC_AUTH": "true",
        "OIDC_AUTH_SERVER_1": "http://127.0.0.1:1/realms/x",
        "OIDC_CLIENT_ID_1": "c360",
        "OIDC_CLIENT_SECRET_1": "secret",
        "OIDC_REDIRECT_URI_1": "http://localhost/login",
    }
    result = run_python(f"import json, admin_cohort.asgi; {SHOW_TOKEN_LIBRARY}", **oidc)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"hs256": "u", "rsa": True, "loaded": True}
