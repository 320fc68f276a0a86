"""The audit trail of write requests and the Portail's logs page (`GET /logs/`, LOG-1 / LOG-2)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from admin_cohort.models import RequestLog, User
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SECRET = "Zq-secret-Pa55word-981"
MASK = "********************"
NEW_USER = {"username": "4123456", "firstname": "Jean", "lastname": "Dupont", "email": "jean.dupont@aphp.fr"}


def stored_text(log: RequestLog) -> str:
    """Every stored column of a log row, as one string."""
    return " ".join(str(getattr(log, field.attname)) for field in RequestLog._meta.concrete_fields)


def login(client, username: str, password: str, **headers):
    return client.post(
        "/auth/login/",
        {"username": username, "password": password},
        format="multipart",
        HTTP_AUTHORIZATION="Bearer null",
        HTTP_AUTHORIZATIONMETHOD="JWT",
        **headers,
    )


def make_log(**fields) -> RequestLog:
    values = {
        "requested_at": datetime(2025, 1, 15, 10, 0, tzinfo=UTC),
        "path": "/users/",
        "method": "POST",
        "status_code": 201,
        "view": "admin_cohort.views.users.UserViewSet",
        "view_method": "create",
        **fields,
    }
    return RequestLog.objects.create(**values)


class TestRecording:
    def test_a_successful_login_is_recorded_without_password_nor_tokens(self, anonymous):
        user = UserFactory(password=SECRET)
        response = login(anonymous, user.username, SECRET, HTTP_X_TRACE_ID="trace-login-1")
        assert response.status_code == 200
        log = RequestLog.objects.get()
        assert (log.path, log.method, log.status_code) == ("/auth/login/", "POST", 200)
        assert log.user_id == user.username
        assert log.username_persistent == user.username
        assert log.trace_id == "trace-login-1"
        assert log.view_method == "post"
        assert json.loads(log.data) == {"username": user.username, "password": MASK}
        assert json.loads(log.response)["access_token"] == MASK
        assert json.loads(log.response)["refresh_token"] == MASK
        text = stored_text(log)
        for secret in (SECRET, response.json()["access_token"], response.json()["refresh_token"]):
            assert secret not in text

    def test_a_failed_login_is_recorded_as_anonymous_with_its_error(self, anonymous):
        user = UserFactory(password="another-one-123")
        assert login(anonymous, user.username, SECRET).status_code == 401
        log = RequestLog.objects.get()
        assert (log.status_code, log.user_id, log.username_persistent) == (401, None, "Anonymous")
        assert log.response is None
        assert json.loads(log.errors) == {"error": "Invalid username or password!"}
        assert SECRET not in stored_text(log)

    def test_user_creation_and_edition_are_recorded_as_compact_json(self, admin_client, full_admin):
        created = admin_client.post("/users/", {**NEW_USER, "password": SECRET}, format="json")
        assert created.status_code == 201
        edited = admin_client.patch("/users/4123456/", {"firstname": "Jeanne"}, format="json")
        assert edited.status_code == 200
        create_log, patch_log = RequestLog.objects.order_by("id")
        assert (create_log.path, create_log.method, create_log.status_code) == ("/users/", "POST", 201)
        assert create_log.view == "admin_cohort.views.users.UserViewSet"
        assert create_log.view_method == "create"
        assert create_log.user_id == full_admin.username
        assert json.loads(create_log.data) == {**NEW_USER, "password": MASK}
        assert '"username":"4123456"' in create_log.response
        assert SECRET not in stored_text(create_log)
        assert (patch_log.path, patch_log.method, patch_log.status_code) == ("/users/4123456/", "PATCH", 200)
        assert patch_log.view_method == "partial_update"
        assert json.loads(patch_log.data) == {"firstname": "Jeanne"}
        assert '"firstname":"Jeanne"' in patch_log.response
        assert create_log.trace_id and create_log.trace_id != patch_log.trace_id

    def test_a_refused_write_is_recorded_and_changes_nothing(self, user_client, user):
        response = user_client.post("/users/", {**NEW_USER, "password": SECRET}, format="json")
        assert response.status_code == 403
        assert not User.objects.filter(pk="4123456").exists()
        log = RequestLog.objects.get()
        assert (log.status_code, log.user_id) == (403, user.username)
        assert SECRET not in stored_text(log)

    def test_reads_are_not_recorded(self, admin_client):
        assert admin_client.get("/users/").status_code == 200
        assert not RequestLog.objects.exists()

    def test_nested_secrets_and_query_secrets_are_masked(self, admin_client):
        body = {**NEW_USER, "password": SECRET, "extra": [{"api_key": SECRET, "Signature": SECRET}]}
        admin_client.post(f"/users/?token={SECRET}", body, format="json")
        log = RequestLog.objects.get()
        assert json.loads(log.query_params) == {"token": MASK}
        assert SECRET not in stored_text(log)

    def test_a_request_carrying_nul_characters_is_recorded(self, admin_client):
        # PostgreSQL refuses NUL in text: storing them as sent would leave no trace of the request.
        response = admin_client.patch(
            "/users/%00/", {"firstname": "Je\x00anne"}, format="json", HTTP_USER_AGENT="agent\x00"
        )
        assert response.status_code in (400, 404)
        log = RequestLog.objects.get()
        assert (log.path, log.user_agent) == ("/users/\ufffd/", "agent\ufffd")
        # In the JSON columns, NUL is the JSON escape `\u0000`: stored as sent.
        assert json.loads(log.data) == {"firstname": "Je\x00anne"}

    def test_a_forged_forwarded_address_is_not_stored(self, admin_client):
        admin_client.post("/users/", NEW_USER, format="json", HTTP_X_FORWARDED_FOR="<script>, 10.0.0.1")
        assert RequestLog.objects.get().remote_addr == "127.0.0.1"
        admin_client.patch("/users/4123456/", {"lastname": "Martin"}, format="json", HTTP_X_FORWARDED_FOR="10.1.2.3")
        assert RequestLog.objects.order_by("-id").first().remote_addr == "10.1.2.3"


class TestAccess:
    @pytest.mark.parametrize("url", ["/logs/", "/logs/{id}/"])
    def test_anonymous_is_refused(self, anonymous, url):
        log = make_log()
        response = anonymous.get(url.format(id=log.id))
        assert response.status_code == 403

    @pytest.mark.parametrize("url", ["/logs/", "/logs/{id}/"])
    def test_non_admins_are_refused(self, make_client, user, user_manager, url):
        log = make_log()
        for caller in (user, user_manager):
            assert make_client(caller).get(url.format(id=log.id)).status_code == 403

    @pytest.mark.parametrize("method", ["post", "patch", "put", "delete"])
    def test_logs_are_read_only(self, admin_client, method):
        log = make_log()
        response = getattr(admin_client, method)(f"/logs/{log.id}/", {"path": "/x/"}, format="json")
        assert response.status_code == 405
        assert RequestLog.objects.get().path == "/users/"


class TestList:
    def test_full_admin_lists_logs_with_the_portail_shape(self, admin_client, full_admin):
        make_log(user=full_admin, username_persistent=full_admin.username, response='{"name":"Unit A","id":3}')
        make_log(path="/auth/login/", status_code=401)
        response = admin_client.get("/logs/?page=1&ordering=-requested_at")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 2
        by_path = {row["path"]: row for row in body["results"]}
        row = by_path["/users/"]
        for key in (
            "id",
            "requested_at",
            "method",
            "view_method",
            "status_code",
            "user",
            "username_persistent",
            "path",
            "response_ms",
            "view",
            "remote_addr",
            "host",
            "data",
            "response",
            "errors",
            "query_params",
            "user_agent",
        ):
            assert key in row
        assert row["user"] == full_admin.username
        assert row["user_details"]["lastname"] == "ADMIN"
        assert row["user_details"]["firstname"] == "Ada"
        assert row["user_details"]["username"] == full_admin.username
        assert row["related_names"] == {"name": "Unit A"}
        assert row["requested_at"] == "2025-01-15T10:00:00.000000Z"
        anonymous_row = by_path["/auth/login/"]
        assert anonymous_row["user"] is None
        assert anonymous_row["user_details"] is None
        assert anonymous_row["related_names"] == {}

    def test_pages_of_twenty_with_a_bounded_number_of_queries(self, admin_client, django_assert_max_num_queries):
        for index in range(25):
            author = UserFactory(created_by=UserFactory())
            make_log(user=author, username_persistent=author.username, path=f"/users/{index}/")
        admin_client.get("/logs/")  # warm up the caller's rights lookups
        with django_assert_max_num_queries(8):
            response = admin_client.get("/logs/?page=2")
        assert response.status_code == 200
        assert response.json()["count"] == 25
        assert len(response.json()["results"]) == 5
        assert admin_client.get("/logs/?page=3").status_code == 404

    def test_retrieve(self, admin_client, full_admin):
        log = make_log(user=full_admin, username_persistent=full_admin.username, data='{"lastname":"X"}')
        response = admin_client.get(f"/logs/{log.id}/")
        assert response.status_code == 200
        assert response.json()["id"] == log.id
        assert response.json()["data"] == '{"lastname":"X"}'
        assert response.json()["user_details"]["username"] == full_admin.username
        assert admin_client.get("/logs/999999/").status_code == 404
        assert admin_client.get("/logs/abc/").status_code == 404


@pytest.fixture
def portail_logs(db):
    """Rows as the recorder stores them, spread over methods, statuses, dates, paths and authors."""
    alice = UserFactory(username="7000001", lastname="ALICE")
    bob = UserFactory(username="7000002", lastname="BOB")
    rows = {
        "access_created": make_log(
            user=alice,
            username_persistent=alice.username,
            path="/accesses/accesses/",
            view_method="create",
            status_code=201,
            requested_at=datetime(2025, 1, 10, 9, 0, tzinfo=UTC),
            response=(
                '{"id":42,"perimeter":{"id":8312002244,"name":"Hôpital Nord"},'
                '"care_site_id":8312002244,"role":{"id":3}}'
            ),
        ),
        "access_patched": make_log(
            user=alice,
            username_persistent=alice.username,
            path="/accesses/accesses/42/",
            view_method="partial_update",
            method="PATCH",
            status_code=200,
            requested_at=datetime(2025, 1, 20, 9, 0, tzinfo=UTC),
            response='{"id":42,"end_datetime":"2025-02-01T00:00:00Z"}',
        ),
        "access_close_refused": make_log(
            user=bob,
            username_persistent=bob.username,
            path="/accesses/accesses/42/close/",
            view_method="close",
            method="PATCH",
            status_code=403,
            requested_at=datetime(2025, 1, 25, 9, 0, tzinfo=UTC),
            errors='{"detail":"You do not have permission to perform this action."}',
        ),
        "role_deleted": make_log(
            user=bob,
            username_persistent=bob.username,
            path="/accesses/roles/3/",
            view_method="destroy",
            method="DELETE",
            status_code=204,
            requested_at=datetime(2025, 2, 5, 9, 0, tzinfo=UTC),
        ),
        "login": make_log(
            path="/auth/login/",
            view_method="post",
            status_code=200,
            requested_at=datetime(2025, 1, 31, 12, 0, tzinfo=UTC),
            remote_addr="10.0.0.7",
        ),
    }
    return rows


def listed(client, query: str) -> list[int]:
    response = client.get(f"/logs/?{query}")
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


class TestPortailFilters:
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("method=post,patch", {"access_created", "access_patched", "access_close_refused", "login"}),
            ("method=DELETE", {"role_deleted"}),
            ("method=Patch", {"access_patched", "access_close_refused"}),
            ("status_code=200,201", {"access_created", "access_patched", "login"}),
            ("status_code=403", {"access_close_refused"}),
            ("requested_at_after=2025-01-20", {"access_patched", "access_close_refused", "role_deleted", "login"}),
            ("requested_at_before=2025-01-25", {"access_created", "access_patched"}),
            (
                "requested_at_after=2025-01-20&requested_at_before=2025-02-01",
                {"access_patched", "access_close_refused", "login"},
            ),
            ("requested_at_after=2025-01-31T12:00:00Z", {"role_deleted", "login"}),
            ("path_contains=accesses", {"access_created", "access_patched", "access_close_refused", "role_deleted"}),
            ("path_contains=roles", {"role_deleted"}),
            ("path_contains=accesses&path_contains=/accesses/42/", {"access_patched", "access_close_refused"}),
            ("path_contains=roles&path_contains=/accesses/42/", set()),
            ("user=7000002", {"access_close_refused", "role_deleted"}),
            ("user=nobody", set()),
            ('response="care_site_id":8312002244,', {"access_created"}),
            ('response="id":42', {"access_created", "access_patched"}),
            ('response="ID":42', {"access_created", "access_patched"}),
            ("errors=permission", {"access_close_refused"}),
            ("path=/accesses/accesses/42/", {"access_patched"}),
            ("path=/auth/login/", {"login"}),
            ("remote_addr=10.0.0.7", {"login"}),
            ("search=roles", {"role_deleted"}),
            ("search=7000001", {"access_created", "access_patched"}),
            ("view_method=create", {"access_created"}),
        ],
    )
    def test_filter(self, admin_client, portail_logs, query, expected):
        ids = listed(admin_client, f"page=1&ordering=-requested_at&{query}")
        assert set(ids) == {portail_logs[name].id for name in expected}

    def test_ordering_by_request_time(self, admin_client, portail_logs):
        by_time = sorted(portail_logs.values(), key=lambda log: log.requested_at)
        assert listed(admin_client, "ordering=-requested_at") == [log.id for log in reversed(by_time)]
        assert listed(admin_client, "ordering=requested_at") == [log.id for log in by_time]

    def test_the_full_portail_query(self, admin_client, portail_logs):
        query = (
            "page=1&ordering=-requested_at&path_contains=accesses&user=7000001&status_code=200,201"
            "&method=POST,PATCH&requested_at_after=2025-01-01&requested_at_before=2025-02-01"
            "&path_contains=/accesses/42/"
        )
        assert listed(admin_client, query) == [portail_logs["access_patched"].id]

    def test_the_creation_log_of_an_access(self, admin_client, portail_logs):
        """LOG-2: the Portail looks for the creation of access 42 under the collection path `/accesses/`."""
        query = 'page=1&ordering=-requested_at&path=/accesses/&response="id":42'
        assert listed(admin_client, query) == [portail_logs["access_created"].id]

    @pytest.mark.parametrize(
        "query",
        [
            "status_code=abc",
            "status_code=200,x",
            "requested_at_after=garbage",
            "requested_at_before=2025-13-45",
            "response_ms_min=fast",
            "id=abc",
            "remote_addr=not-an-ip",
            "ordering=password",
        ],
    )
    def test_bad_values_are_a_400(self, admin_client, portail_logs, query):
        response = admin_client.get(f"/logs/?{query}")
        assert response.status_code == 400, response.content
        assert response.json()
        assert RequestLog.objects.count() == len(portail_logs)
