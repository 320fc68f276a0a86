"""The websocket at /ws/ (spec 01 §4, client contract §3.21), with a real client against uvicorn."""

from __future__ import annotations

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import jwt
import pytest
from django.conf import settings
from django.db import connection, transaction
from websockets.exceptions import ConnectionClosed

from admin_cohort.services.ws_events import broadcast, push_to_user
from admin_cohort.tests.websocket_client import (
    assert_silent,
    authenticated_socket,
    handshake,
    open_socket,
    receive,
)
from tests.factories import RoleFactory, UserFactory, full_admin_role, grant

pytestmark = pytest.mark.slow

ACCEPTED = {"type": "handshake", "status": "accepted", "details": ""}
PENDING = {
    "type": "handshake",
    "status": "pending",
    "details": 'Could not understand the JSON object, "token" key missing',
}
FORBIDDEN = {"type": "handshake", "status": "forbidden", "details": "Bad token"}


def assert_closed_by_server(socket) -> None:
    with pytest.raises(ConnectionClosed):
        socket.recv(timeout=10)


def signed_token(**claims) -> str:
    now = int(time.time())
    base = {"token_type": "access", "jti": uuid.uuid4().hex, "sid": uuid.uuid4().hex, "iat": now, "exp": now + 300}
    return jwt.encode({**base, **claims}, settings.JWT_SIGNING_KEY, algorithm="HS256")


@pytest.fixture
def alice(transactional_db):
    return UserFactory(username="alice01")


@pytest.fixture
def bob(transactional_db):
    return UserFactory(username="bob0001")


class TestHandshake:
    @pytest.mark.parametrize("path", ["/ws/", "/api/back/ws/"])
    def test_access_token_is_accepted(self, live_server_url, alice, path):
        with open_socket(live_server_url, path) as socket:
            reply = handshake(socket, alice.username)
        assert reply == ACCEPTED
        assert "uuid" not in reply

    @pytest.mark.parametrize(
        "frame",
        [
            {"auth_method": "JWT"},
            {"token": "abc"},
            {},
            {"token": None, "auth_method": "JWT"},
            ["token", "auth_method"],
            "token",
        ],
    )
    def test_missing_keys_leave_the_socket_pending_and_open(self, live_server_url, alice, frame):
        with open_socket(live_server_url) as socket:
            socket.send(json.dumps(frame))
            assert receive(socket) == PENDING
            # Still open: a correct handshake on the same socket succeeds.
            assert handshake(socket, alice.username) == ACCEPTED

    @pytest.mark.parametrize(
        "make_frame",
        [
            pytest.param(lambda user: {"token": "not-a-jwt", "auth_method": "JWT"}, id="garbage"),
            pytest.param(
                lambda user: {"token": signed_token(username=user.username, exp=1), "auth_method": "JWT"}, id="expired"
            ),
            pytest.param(
                lambda user: {
                    "token": signed_token(username=user.username, token_type="refresh"),
                    "auth_method": "JWT",
                },
                id="refresh-token",
            ),
            pytest.param(
                lambda user: {"token": signed_token(username="nobody99"), "auth_method": "JWT"}, id="unknown-user"
            ),
            pytest.param(
                lambda user: {
                    "token": jwt.encode({"username": user.username}, "a-wrong-signing-key-of-sufficient-length"),
                    "auth_method": "JWT",
                },
                id="bad-signature",
            ),
            pytest.param(
                lambda user: {"token": settings.QUERY_EXECUTOR_TOKEN, "auth_method": "JWT"}, id="machine-token"
            ),
            # Documented choice: an unknown method is refused ("forbidden"), not left "pending" as upstream did.
            pytest.param(
                lambda user: {"token": signed_token(username=user.username), "auth_method": "LDAP"}, id="unknown-method"
            ),
            pytest.param(
                lambda user: {"token": signed_token(username=user.username), "auth_method": "OIDC"}, id="oidc-disabled"
            ),
        ],
    )
    def test_refused_tokens_get_forbidden_then_the_server_closes(self, live_server_url, alice, make_frame):
        UserFactory(username=settings.QUERY_EXECUTOR_USERNAME)
        with open_socket(live_server_url) as socket:
            socket.send(json.dumps(make_frame(alice)))
            assert receive(socket) == FORBIDDEN
            assert_closed_by_server(socket)

    def test_non_json_frames_are_ignored(self, live_server_url, alice):
        with open_socket(live_server_url) as socket:
            socket.send("hello, not json")
            socket.send(b"\x00\x01binary")
            socket.send("[" * 200_000)  # deeper than the JSON parser's recursion limit
            assert_silent(socket)
            assert handshake(socket, alice.username) == ACCEPTED

    def test_a_new_handshake_moves_the_socket_to_the_new_user(self, live_server_url, alice, bob):
        with open_socket(live_server_url) as socket:
            assert handshake(socket, alice.username) == ACCEPTED
            assert handshake(socket, bob.username) == ACCEPTED
            push_to_user(alice.username, {"type": "job_status", "status": "finished"})
            assert_silent(socket)
            push_to_user(bob.username, {"type": "job_status", "status": "finished"})
            assert receive(socket) == {"type": "job_status", "status": "finished"}


class TestImpersonation:
    def test_full_admin_socket_belongs_to_the_target_user(self, live_server_url, alice):
        admin = UserFactory(username="admin0001")
        grant(admin, full_admin_role())
        with open_socket(live_server_url) as socket:
            assert handshake(socket, admin.username, headers={"X-Impersonate": alice.username}) == ACCEPTED
            push_to_user(admin.username, {"type": "job_status", "for": "admin"})
            assert_silent(socket)
            push_to_user(alice.username, {"type": "job_status", "for": "alice"})
            assert receive(socket) == {"type": "job_status", "for": "alice"}

    def test_unknown_target_leaves_the_socket_to_the_admin(self, live_server_url):
        admin = UserFactory(username="admin0001")
        grant(admin, full_admin_role())
        with open_socket(live_server_url) as socket:
            assert handshake(socket, admin.username, headers={"X-Impersonate": "ghost01"}) == ACCEPTED
            push_to_user(admin.username, {"type": "job_status", "for": "admin"})
            assert receive(socket) == {"type": "job_status", "for": "admin"}

    def test_non_admin_is_forbidden(self, live_server_url, alice, bob):
        grant(bob, RoleFactory(right_manage_users=True, right_read_patient_nominative=True))
        with open_socket(live_server_url) as socket:
            assert handshake(socket, bob.username, headers={"X-Impersonate": alice.username}) == FORBIDDEN
            assert_closed_by_server(socket)

    def test_malformed_headers_object_is_ignored(self, live_server_url, alice):
        with open_socket(live_server_url) as socket:
            assert handshake(socket, alice.username, headers="X-Impersonate: someone") == ACCEPTED


def push_from_a_thread(username: str, message: dict) -> None:
    try:
        push_to_user(username, message)
    finally:
        connection.close()  # the thread's own, which would keep the test database in use


class TestPushes:
    def test_push_to_user_reaches_only_that_users_sockets(self, live_server_url, alice, bob):
        message = {"type": "job_status", "status": "finished", "uuid": "u-1"}
        with (
            authenticated_socket(live_server_url, alice.username) as alice_tab1,
            authenticated_socket(live_server_url, alice.username) as alice_tab2,
            authenticated_socket(live_server_url, bob.username) as bob_socket,
        ):
            push_to_user(alice.username, message)
            assert receive(alice_tab1) == message
            assert receive(alice_tab2) == message
            assert_silent(bob_socket)

    def test_push_is_sent_only_after_commit(self, live_server_url, alice):
        with authenticated_socket(live_server_url, alice.username) as socket:
            with pytest.raises(RuntimeError), transaction.atomic():
                push_to_user(alice.username, {"type": "job_status", "status": "rolled back"})
                raise RuntimeError("rollback")
            assert_silent(socket)

            with transaction.atomic():
                push_to_user(alice.username, {"type": "job_status", "status": "committed"})
                assert_silent(socket, timeout=0.5)
            assert receive(socket) == {"type": "job_status", "status": "committed"}

    def test_a_burst_of_pushes_reaches_the_socket_whole(self, live_server_url, alice):
        # A researcher launching counts on many requests gets three frames per count, pushed by several
        # workers at once; none may be lost when they come faster than the socket is written (the list-based
        # layer kept at most 100 per socket and dropped the rest).
        with authenticated_socket(live_server_url, alice.username) as socket:
            with ThreadPoolExecutor(max_workers=8) as pushers:
                for number in range(400):
                    pushers.submit(push_from_a_thread, alice.username, {"type": "job_status", "number": number})
            assert sorted(receive(socket)["number"] for _ in range(400)) == list(range(400))
            assert_silent(socket)

    def test_a_push_arriving_after_its_subjects_last_one_is_dropped(self, live_server_url, alice):
        # The worker says `started` and the web process `finished`: the later-sent one may arrive first.
        finished = {"type": "job_status", "uuid": "u-1", "status": "finished"}
        with authenticated_socket(live_server_url, alice.username) as socket:
            push_to_user(alice.username, {"type": "job_status", "uuid": "u-1", "status": "pending"}, subject="u-1")
            push_to_user(alice.username, finished, subject="u-1", last=True)
            push_to_user(alice.username, {"type": "job_status", "uuid": "u-1", "status": "started"}, subject="u-1")
            push_to_user(alice.username, {"type": "job_status", "uuid": "u-2", "status": "started"}, subject="u-2")
            push_to_user(alice.username, {"type": "job_status", "uuid": "u-1", "status": "no subject"})
            assert [receive(socket)["status"] for _ in range(4)] == ["pending", "finished", "started", "no subject"]
            assert_silent(socket)

    def test_broadcast_reaches_authenticated_sockets_only(self, live_server_url, alice, bob):
        message = {"type": "maintenance", "info": {"id": 1}}
        with (
            authenticated_socket(live_server_url, alice.username) as alice_socket,
            authenticated_socket(live_server_url, bob.username) as bob_socket,
            open_socket(live_server_url) as anonymous_socket,
            open_socket(live_server_url) as pending_socket,
        ):
            pending_socket.send(json.dumps({"auth_method": "JWT"}))
            assert receive(pending_socket) == PENDING
            broadcast(message)
            assert receive(alice_socket) == message
            assert receive(bob_socket) == message
            assert_silent(anonymous_socket)
            assert_silent(pending_socket)
