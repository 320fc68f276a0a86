"""The maintenance gate: writes get 503 while a phase runs (spec 01 §5.3 and §23.3)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from admin_cohort import selectors
from admin_cohort.models import MaintenancePhase, User
from tests.factories import MaintenancePhaseFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_USER = {"username": "4123456", "firstname": "Jean", "lastname": "Dupont", "email": "jean.dupont@aphp.fr"}
START = datetime(2000, 1, 1, 20, 0, tzinfo=UTC)
END = datetime(2099, 6, 1, 22, 0, tzinfo=UTC)
EXPECTED_MESSAGE = (
    "The server is unavailable for maintenance up to 01/06/2099, 22:00:00 for the following reason: Read-only mode"
)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def assert_unavailable(response, message: str = EXPECTED_MESSAGE) -> None:
    assert response.status_code == 503, response.content
    body = response.json()
    assert set(body) == {"message", "maintenance_start", "maintenance_end", "active"}
    assert body["message"] == message
    assert body["active"] is True
    assert parse(body["maintenance_start"]) == START
    assert parse(body["maintenance_end"]) == END


def bearer_client(header: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    return client


@pytest.fixture(params=["partial", "full"])
def running_phase(request):
    """Both phase types gate the same way (`full` is only a hint for the Cohort360 UI)."""
    return MaintenancePhaseFactory(type=request.param, start_datetime=START, end_datetime=END)


class TestDuringAPhase:
    def test_reads_pass(self, running_phase, make_client, user_manager):
        client = make_client(user_manager)
        assert client.get("/users/").status_code == 200
        # Past the gate, the view decides whether it serves HEAD and OPTIONS.
        assert client.head("/users/").status_code != 503
        assert client.options("/users/").status_code != 503

    def test_writes_get_503(self, running_phase, make_client, user_manager, user):
        client = make_client(user_manager)
        assert_unavailable(client.post("/users/", NEW_USER, format="json"))
        assert_unavailable(client.patch(f"/users/{user.username}/", {"firstname": "Changed"}, format="json"))
        assert_unavailable(client.delete(f"/users/{user.username}/"))
        assert not User.objects.filter(pk=NEW_USER["username"]).exists()
        user.refresh_from_db()
        assert user.firstname != "Changed"

    def test_anonymous_writes_get_503_too(self, running_phase, anonymous):
        assert_unavailable(anonymous.post("/users/", NEW_USER, format="json"))
        assert_unavailable(anonymous.post("/no/such/path/"))

    def test_subject_is_the_reason_when_there_is_no_message(self, anonymous):
        MaintenancePhaseFactory(subject="Upgrade", message=None, start_datetime=START, end_datetime=END)
        response = anonymous.post("/users/", NEW_USER, format="json")
        assert_unavailable(response, EXPECTED_MESSAGE.replace("Read-only mode", "Upgrade"))

    def test_the_phase_ending_last_is_reported(self, running_phase, anonymous):
        MaintenancePhaseFactory(start_datetime=START, end_datetime=END - timedelta(days=1), message="Other")
        assert_unavailable(anonymous.post("/users/", NEW_USER, format="json"))

    def test_login_passes(self, running_phase, anonymous, user):
        response = anonymous.post(
            "/auth/login/",
            {"username": user.username, "password": "pass-word-123"},
            format="multipart",
            HTTP_AUTHORIZATIONMETHOD="JWT",
        )
        assert response.status_code == 200, response.content

    def test_open_paths_are_matched_below_the_mount_prefix(self, running_phase, anonymous, user):
        response = anonymous.post(
            "/auth/login/",
            {"username": user.username, "password": "pass-word-123"},
            format="multipart",
            HTTP_AUTHORIZATIONMETHOD="JWT",
            SCRIPT_NAME="/api/back",
        )
        assert response.status_code == 200, response.content

    def test_maintenance_writes_pass(self, running_phase, admin_client):
        created = admin_client.post(
            "/maintenances/",
            {"subject": "Next", "start_datetime": "2099-07-01T00:00:00Z", "end_datetime": "2099-07-02T00:00:00Z"},
            format="json",
        )
        assert created.status_code == 201, created.content
        patched = admin_client.patch(f"/maintenances/{running_phase.id}/", {"message": "Extended"}, format="json")
        assert patched.status_code == 200
        assert admin_client.delete(f"/maintenances/{created.json()['id']}/").status_code == 204

    @pytest.mark.parametrize(
        ("username_setting", "token_setting"),
        [("QUERY_EXECUTOR_USERNAME", "QUERY_EXECUTOR_TOKEN"), ("SOLR_ETL_USERNAME", "SOLR_ETL_TOKEN")],
    )
    def test_job_server_callbacks_pass(self, running_phase, user, username_setting, token_setting):
        UserFactory(username=getattr(settings, username_setting))
        client = bearer_client(f"Bearer {getattr(settings, token_setting)}")
        response = client.patch(f"/users/{user.username}/", {"firstname": "Changed"}, format="json")
        # Past the gate, the view itself decides (machine users do not manage users).
        assert response.status_code == 403
        assert "maintenance" not in response.json().get("detail", "")

    def test_rollout_token_does_not_bypass_the_gate(self, running_phase):
        UserFactory(username=settings.ROLLOUT_USERNAME)
        client = bearer_client(f"Bearer {settings.ROLLOUT_TOKEN}")
        assert_unavailable(client.post("/users/", NEW_USER, format="json"))

    @pytest.mark.parametrize(
        "header",
        ["Bearer a b", f"Bearer {settings.QUERY_EXECUTOR_TOKEN} extra", "Basic x", "Bearer", "   ", "Token qe"],
    )
    def test_malformed_authorization_headers_get_503(self, running_phase, header):
        UserFactory(username=settings.QUERY_EXECUTOR_USERNAME)
        assert_unavailable(bearer_client(header).post("/users/", NEW_USER, format="json"))


class TestWithoutARunningPhase:
    @pytest.mark.parametrize(
        "phase",
        [
            {"start_datetime": END, "end_datetime": END + timedelta(hours=1)},
            {"start_datetime": START, "end_datetime": START + timedelta(hours=1)},
            {"start_datetime": START, "end_datetime": END, "delete_datetime": START},
        ],
        ids=["future", "past", "deleted"],
    )
    def test_writes_pass(self, make_client, user_manager, phase):
        MaintenancePhaseFactory(**phase)
        response = make_client(user_manager).post("/users/", NEW_USER, format="json")
        assert response.status_code == 201, response.content

    @pytest.mark.parametrize("header", ["Bearer a b", "Basic x", "Bearer"])
    def test_malformed_authorization_headers_never_500(self, header):
        response = bearer_client(header).post("/users/", NEW_USER, format="json")
        assert response.status_code == 403
        assert not User.objects.filter(pk=NEW_USER["username"]).exists()

    def test_a_phase_that_just_ended_no_longer_gates(self, make_client, user_manager):
        now = timezone.now()
        MaintenancePhase.objects.create(subject="Done", start_datetime=now - timedelta(hours=1), end_datetime=now)
        assert make_client(user_manager).post("/users/", NEW_USER, format="json").status_code == 201


class TestThePhasesTheGateRead:
    """The gate reads the phases not ended yet at most every GATE_REFRESH_SECONDS (admin_cohort.selectors)."""

    def test_a_phase_read_before_it_started_gates_when_it_starts_without_a_new_read(self, make_client, user_manager):
        client = make_client(user_manager)
        starts = timezone.now() + timedelta(seconds=1)
        MaintenancePhaseFactory(subject="Soon", start_datetime=starts, end_datetime=starts + timedelta(hours=1))
        response = client.post("/users/", NEW_USER, format="json")
        assert response.status_code == 201, response.content
        time.sleep(max(0.0, (starts - timezone.now()).total_seconds()) + 0.05)
        with CaptureQueriesContext(connection) as queries:
            response = client.post("/users/", {**NEW_USER, "username": "4123457"}, format="json")
        assert response.status_code == 503, response.content
        assert not [query for query in queries if "maintenance" in query["sql"]]
        assert not User.objects.filter(pk="4123457").exists()

    def test_a_phase_written_by_this_process_gates_at_once(self, make_client, user_manager):
        client = make_client(user_manager)
        assert client.post("/users/", NEW_USER, format="json").status_code == 201  # the gate read: no phase
        MaintenancePhaseFactory(start_datetime=START, end_datetime=END)
        assert_unavailable(client.post("/users/", {**NEW_USER, "username": "4123457"}, format="json"))

    def test_a_phase_ended_by_this_process_stops_gating_at_once(self, make_client, user_manager):
        client = make_client(user_manager)
        phase = MaintenancePhaseFactory(start_datetime=START, end_datetime=END)
        assert_unavailable(client.post("/users/", NEW_USER, format="json"))
        phase.delete()
        assert client.post("/users/", NEW_USER, format="json").status_code == 201

    def test_a_phase_written_by_another_process_gates_within_the_refresh_delay(
        self, make_client, user_manager, monkeypatch
    ):
        monkeypatch.setattr(selectors, "GATE_REFRESH_SECONDS", 0.3)
        client = make_client(user_manager)
        phase = MaintenancePhaseFactory(start_datetime=END, end_datetime=END + timedelta(hours=1))
        assert client.post("/users/", NEW_USER, format="json").status_code == 201  # the gate read: not started
        # As another process would write it: no signal reaches this one.
        MaintenancePhase.objects.filter(pk=phase.pk).update(start_datetime=START, end_datetime=END)
        time.sleep(0.35)
        assert_unavailable(
            client.post("/users/", {**NEW_USER, "username": "4123457"}, format="json"), message=EXPECTED_MESSAGE
        )
