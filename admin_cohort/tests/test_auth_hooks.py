"""External authentication and identity hooks against a fake identity server (spec 01 §3.4, §3.11, §6.5)."""

from __future__ import annotations

import itertools

import pytest

from tests.factories import UserFactory
from tests.fakes.http_server import Reply, closed_port_url
from tests.fakes.identity_server import FakeIdentityServer

AUTHENTICATE_HOOK = "admin_cohort.auth.identity_server.authenticate_user"
IDENTITY_HOOK = "admin_cohort.auth.identity_server.check_user_identity"
MISSING_HOOK = "admin_cohort.auth.no_such_module.hook"
INVALID_CREDENTIALS = {"error": "Invalid username or password!"}

# every login comes from its own address: failed logins of other tests must not throttle this one
_addresses = (f"10.20.{n // 250}.{n % 250 + 1}" for n in itertools.count())


@pytest.fixture
def directory(settings):
    with FakeIdentityServer(auth_token="directory-key") as server:
        server.add_user("4200001", password="directory-pass", firstname="Alice", lastname="MARTIN", email="a@ex.org")
        settings.IDENTITY_SERVER_URL = server.url
        settings.IDENTITY_SERVER_AUTH_TOKEN = server.auth_token
        settings.USER_AUTHENTICATION_HOOKS = [AUTHENTICATE_HOOK]
        settings.USER_IDENTITY_HOOKS = [IDENTITY_HOOK]
        yield server


def login(client, username: str, password: str):
    return client.post(
        "/auth/login/",
        {"username": username, "password": password},
        format="multipart",
        HTTP_AUTHORIZATION="Bearer null",
        HTTP_AUTHORIZATIONMETHOD="JWT",
        REMOTE_ADDR=next(_addresses),
    )


# -- authentication hook (login) -------------------------------------------------------------------------


def test_login_through_the_hook_for_a_user_without_local_password(anonymous, directory):
    UserFactory(username="4200001", password=None)

    response = login(anonymous, "4200001", "directory-pass")

    assert response.status_code == 200, response.content
    assert response.json()["user"]["username"] == "4200001"
    [call] = directory.requests
    assert call.path == "/user/authenticate"
    assert call.headers["Key-auth"] == "directory-key"
    assert call.form == {"username": "4200001", "password": "directory-pass"}
    tokens = response.json()
    listing = anonymous.get(
        "/users/", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}", HTTP_AUTHORIZATIONMETHOD="JWT"
    )
    assert listing.status_code == 200


def test_hook_refuses_a_wrong_password(anonymous, directory):
    UserFactory(username="4200001", password=None)

    response = login(anonymous, "4200001", "wrong")

    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS
    assert len(directory.requests) == 1


def test_local_password_is_checked_first(anonymous, directory):
    UserFactory(username="4200001", password="local-pass")

    assert login(anonymous, "4200001", "local-pass").status_code == 200
    assert directory.requests == []
    # a wrong local password still lets the directory decide
    assert login(anonymous, "4200001", "directory-pass").status_code == 200
    assert len(directory.requests) == 1


def test_user_known_only_to_the_directory_is_not_provisioned(anonymous, directory, db):
    response = login(anonymous, "4200001", "directory-pass")

    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS


@pytest.mark.parametrize("failure", ["closed-port", "server-error", "wrong-key"])
def test_hook_down_means_invalid_credentials(anonymous, directory, settings, failure):
    UserFactory(username="4200001", password=None)
    if failure == "closed-port":
        settings.IDENTITY_SERVER_URL = closed_port_url()
    elif failure == "server-error":
        directory.reply("POST", "/user/authenticate", Reply(status=500, body="Internal error"))
    else:
        settings.IDENTITY_SERVER_AUTH_TOKEN = "stolen-key"

    response = login(anonymous, "4200001", "directory-pass")

    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS


def test_unimportable_hook_is_skipped(anonymous, directory, settings):
    UserFactory(username="4200001", password=None)
    settings.USER_AUTHENTICATION_HOOKS = [MISSING_HOOK, AUTHENTICATE_HOOK]

    assert login(anonymous, "4200001", "directory-pass").status_code == 200


def test_only_unimportable_hooks(anonymous, directory, settings):
    UserFactory(username="4200001", password=None)
    settings.USER_AUTHENTICATION_HOOKS = [MISSING_HOOK, "not a dotted path"]

    response = login(anonymous, "4200001", "directory-pass")

    assert response.status_code == 401
    assert response.json() == INVALID_CREDENTIALS


@pytest.mark.parametrize("username_setting", ["QUERY_EXECUTOR_USERNAME", "SOLR_ETL_USERNAME", "ROLLOUT_USERNAME"])
def test_machine_users_never_log_in_with_a_password(anonymous, directory, settings, username_setting):
    username = getattr(settings, username_setting)
    UserFactory(username=username, password="local-pass")
    directory.add_user(username, password="directory-pass", firstname="Spark", lastname="JOB", email="m@ex.org")

    for password in ("local-pass", "directory-pass"):
        response = login(anonymous, username, password)
        assert response.status_code == 401
        assert response.json() == INVALID_CREDENTIALS
    assert directory.requests == []


# -- identity hook: GET /users/{username}/check/ ---------------------------------------------------------


@pytest.fixture
def manager_client(make_client, user_manager):
    return make_client(user_manager)


def test_only_user_managers_may_look_usernames_up(user_client, anonymous, directory):
    # The form that calls it creates users: the directory's names and e-mails are not for every user.
    assert user_client.get("/users/4200001/check/").status_code == 403
    assert anonymous.get("/users/4200001/check/").status_code == 403
    assert directory.requests == []


def test_check_existing_user(manager_client, directory):
    UserFactory(username="4200002", firstname="Bob", lastname="DURAND", email="bob@example.org")

    response = manager_client.get("/users/4200002/check/")

    assert response.status_code == 200
    assert response.json() == {
        "username": "4200002",
        "firstname": "Bob",
        "lastname": "DURAND",
        "email": "bob@example.org",
        "already_exists": True,
        "found": False,
    }
    assert directory.requests == []


@pytest.mark.parametrize("username", ["%21%40%23%24%25%5E%26%2A%28%29", "abc123", "%20123"])
def test_check_invalid_username_format(manager_client, directory, username):
    response = manager_client.get(f"/users/{username}/check/")

    assert response.status_code == 400
    assert response.json() == {"message": "Invalid username format"}
    assert directory.requests == []


def test_check_username_the_database_cannot_store(manager_client, directory):
    response = manager_client.get("/users/1%00/check/")

    assert response.status_code == 400
    assert directory.requests == []


def test_check_user_found_in_the_directory(manager_client, directory):
    response = manager_client.get("/users/4200001/check/")

    assert response.status_code == 200
    assert response.json() == {
        "username": "4200001",
        "firstname": "Alice",
        "lastname": "MARTIN",
        "email": "a@ex.org",
        "already_exists": False,
        "found": True,
    }
    [call] = directory.requests
    assert call.path == "/user/info"
    assert call.headers["Key-auth"] == "directory-key"
    assert call.form == {"username": "4200001"}


@pytest.mark.parametrize("username", ["4299999", "4" * 200])
def test_check_user_unknown_to_the_directory(manager_client, directory, username):
    response = manager_client.get(f"/users/{username}/check/")

    assert response.status_code == 404
    assert response.json() == {"message": "User not found"}


def test_check_without_identity_hook(manager_client, directory, settings):
    settings.USER_IDENTITY_HOOKS = []

    response = manager_client.get("/users/4200001/check/")

    assert response.status_code == 404
    assert response.json() == {"message": "User not found"}
    assert directory.requests == []


def test_check_skips_an_unimportable_hook(manager_client, directory, settings):
    settings.USER_IDENTITY_HOOKS = [MISSING_HOOK, IDENTITY_HOOK]

    response = manager_client.get("/users/4200001/check/")

    assert response.status_code == 200
    assert response.json()["found"] is True


DIRECTORY_FAILURES = {
    "server-error": Reply(status=500, body="Internal error"),
    "not-json": Reply(body="<html>maintenance</html>"),
    "missing-attribute": Reply(json={"data": {"attributes": {"cn": "4200001", "givenName": "Alice"}}}),
    "unexpected-shape": Reply(json=["4200001"]),
}


@pytest.mark.parametrize("reply", DIRECTORY_FAILURES.values(), ids=DIRECTORY_FAILURES.keys())
def test_check_when_the_directory_fails(manager_client, directory, reply):
    directory.reply("POST", "/user/info", reply)

    response = manager_client.get("/users/4200001/check/")

    assert response.status_code == 502
    assert set(response.json()) == {"message"}


def identity_hook_returning_a_list(username: str) -> list:
    return [username]


def identity_hook_returning_extra_attributes(username: str) -> dict:
    return {"username": username, "firstname": "Eve", "lastname": "ROUX", "email": "e@ex.org", "ssn": "1 85 05"}


def test_check_when_a_custom_hook_answers_a_non_dict(manager_client, settings):
    settings.USER_IDENTITY_HOOKS = [f"{__name__}.identity_hook_returning_a_list"]

    response = manager_client.get("/users/4200001/check/")

    assert response.status_code == 502
    assert set(response.json()) == {"message"}


def test_check_returns_only_the_identity_fields(manager_client, settings):
    settings.USER_IDENTITY_HOOKS = [f"{__name__}.identity_hook_returning_extra_attributes"]

    response = manager_client.get("/users/4200001/check/")

    assert response.status_code == 200
    assert response.json() == {
        "username": "4200001",
        "firstname": "Eve",
        "lastname": "ROUX",
        "email": "e@ex.org",
        "already_exists": False,
        "found": True,
    }


def test_check_when_the_directory_is_down(manager_client, directory, settings):
    settings.IDENTITY_SERVER_URL = closed_port_url()

    response = manager_client.get("/users/4200001/check/")

    assert response.status_code == 502
    assert set(response.json()) == {"message"}


def test_check_needs_authentication(anonymous, directory):
    response = anonymous.get("/users/4200001/check/")

    assert response.status_code == 403
    assert directory.requests == []
