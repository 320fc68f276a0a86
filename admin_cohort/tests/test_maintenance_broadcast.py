"""`maintenance` websocket messages (spec 01 §4.3 and §5.4, client contract §3.21).

Real sockets connect to the ASGI server (uvicorn); writes go through the API; the periodic path runs in a real
Celery worker.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from admin_cohort.services.maintenance import maintenance_info
from admin_cohort.tasks import maintenance_notifier, maintenance_notifier_checker
from admin_cohort.tests.websocket_client import assert_silent, authenticated_socket, open_socket, receive
from tests.factories import MaintenancePhaseFactory, UserFactory

pytestmark = pytest.mark.slow

RUNNING = {"start_datetime": "2000-01-01T21:00:00+01:00", "end_datetime": "2099-06-01T22:00:00Z"}
INFO_KEYS = {"id", "subject", "maintenance_start", "maintenance_end", "active", "type", "message"}


def running_phase(**fields):
    now = timezone.now()
    return MaintenancePhaseFactory(
        **{"start_datetime": now - timedelta(minutes=30), "end_datetime": now + timedelta(hours=1), **fields}
    )


def assert_maintenance_message(message: dict, phase_id: int, active: bool) -> dict:
    assert message["type"] == "maintenance" and set(message) == {"type", "info"}, message
    info = message["info"]
    assert set(info) == INFO_KEYS
    assert info["id"] == phase_id and info["active"] is active
    assert info["maintenance_start"].endswith("+00:00") and info["maintenance_end"].endswith("+00:00")
    return info


@pytest.fixture
def sockets(live_server_url, transactional_db):
    """Two users' sockets, and one that never authenticated (which must hear nothing)."""
    alice, bob = UserFactory(username="alice01"), UserFactory(username="bob0001")
    with (
        authenticated_socket(live_server_url, alice.username) as alice_socket,
        authenticated_socket(live_server_url, bob.username) as bob_socket,
        open_socket(live_server_url) as anonymous_socket,
    ):
        yield alice_socket, bob_socket, anonymous_socket


def receive_everywhere(sockets) -> dict:
    """The message every authenticated socket received (the same one), after checking the others heard nothing."""
    alice_socket, bob_socket, anonymous_socket = sockets
    message = receive(alice_socket)
    assert receive(bob_socket) == message
    assert_silent(anonymous_socket, timeout=0.2)
    return message


def assert_nothing_sent(sockets) -> None:
    assert_silent(sockets[0])
    assert_silent(sockets[1], timeout=0.2)


class TestApiWrites:
    def test_creating_a_running_phase_broadcasts_it(self, sockets, admin_client):
        body = {"subject": "Mise à jour", "message": "Lecture seule", "type": "full", **RUNNING}
        response = admin_client.post("/maintenances/", body, format="json")
        assert response.status_code == 201
        message = receive_everywhere(sockets)
        assert message == {
            "type": "maintenance",
            "info": {
                "id": response.json()["id"],
                "subject": "Mise à jour",
                "maintenance_start": "2000-01-01T20:00:00+00:00",
                "maintenance_end": "2099-06-01T22:00:00+00:00",
                "active": True,
                "type": "full",
                "message": "Lecture seule",
            },
        }

    def test_creating_a_future_phase_sends_nothing(self, sockets, admin_client):
        body = {"subject": "Later", "start_datetime": "2099-01-01T00:00:00Z", "end_datetime": "2099-01-02T00:00:00Z"}
        assert admin_client.post("/maintenances/", body, format="json").status_code == 201
        assert_nothing_sent(sockets)

    def test_patching_a_running_phase_broadcasts_the_change(self, sockets, admin_client):
        phase = running_phase(message=None)
        response = admin_client.patch(f"/maintenances/{phase.id}/", {"message": "Extended", "type": "full"})
        assert response.status_code == 200
        info = assert_maintenance_message(receive_everywhere(sockets), phase.id, active=True)
        assert (info["message"], info["type"]) == ("Extended", "full")

    def test_ending_a_running_phase_by_patch_broadcasts_inactive(self, sockets, admin_client):
        phase = running_phase()
        ended = (timezone.now() - timedelta(minutes=1)).isoformat()
        assert admin_client.patch(f"/maintenances/{phase.id}/", {"end_datetime": ended}).status_code == 200
        assert_maintenance_message(receive_everywhere(sockets), phase.id, active=False)

    def test_patching_a_future_phase_or_refused_patches_send_nothing(self, sockets, admin_client, user_client):
        future = MaintenancePhaseFactory()
        running = running_phase()
        assert admin_client.patch(f"/maintenances/{future.id}/", {"message": "x"}).status_code == 200
        assert (
            admin_client.patch(f"/maintenances/{running.id}/", {"end_datetime": "1999-01-01T00:00:00Z"}).status_code
            == 400
        )
        assert user_client.patch(f"/maintenances/{running.id}/", {"message": "x"}).status_code == 403
        assert_nothing_sent(sockets)

    def test_deleting_a_running_phase_broadcasts_inactive(self, sockets, admin_client):
        phase = running_phase(subject="Upgrade")
        assert admin_client.delete(f"/maintenances/{phase.id}/").status_code == 204
        info = assert_maintenance_message(receive_everywhere(sockets), phase.id, active=False)
        assert info["subject"] == "Upgrade"

    def test_deleting_while_another_phase_runs_is_suppressed(self, sockets, admin_client):
        phase = running_phase()
        running_phase(end_datetime=timezone.now() + timedelta(minutes=10))
        assert admin_client.delete(f"/maintenances/{phase.id}/").status_code == 204
        assert_nothing_sent(sockets)

    def test_deleting_a_future_phase_sends_nothing(self, sockets, admin_client):
        phase = MaintenancePhaseFactory()
        assert admin_client.delete(f"/maintenances/{phase.id}/").status_code == 204
        assert_nothing_sent(sockets)


@pytest.fixture
def fresh_tick(celery_worker):
    """The checker runs once per minute: start far enough from a minute's end, with no earlier run recorded."""
    if datetime.now(UTC).second >= 50:
        time.sleep(61 - datetime.now(UTC).second)
    cache.delete_pattern("tick:admin_cohort.tasks.maintenance_notifier_checker:*")


class TestPeriodicNotifier:
    def test_running_phase_is_rebroadcast_once_per_minute(self, sockets, fresh_tick):
        phase = running_phase(type="full")
        maintenance_notifier_checker.delay()
        info = assert_maintenance_message(receive_everywhere(sockets), phase.id, active=True)
        assert info["type"] == "full"

        maintenance_notifier_checker.delay()  # same minute: another beat's run, skipped
        assert_silent(sockets[0], timeout=3)

    def test_start_and_end_are_announced_at_their_time(self, sockets, fresh_tick):
        now = timezone.now()
        starting = MaintenancePhaseFactory(
            start_datetime=now + timedelta(seconds=2), end_datetime=now + timedelta(hours=1)
        )
        ending = running_phase(end_datetime=now + timedelta(seconds=3))
        maintenance_notifier_checker.delay()
        # Right away: the running phase; then the start of the other (which then keeps its end message quiet).
        assert_maintenance_message(receive_everywhere(sockets), ending.id, active=True)
        assert_maintenance_message(receive_everywhere(sockets), starting.id, active=True)
        assert_silent(sockets[0], timeout=3)
        assert timezone.now() > ending.end_datetime

    def test_a_phase_ending_alone_is_announced_inactive(self, sockets, fresh_tick):
        ending = running_phase(end_datetime=timezone.now() + timedelta(seconds=2))
        maintenance_notifier_checker.delay()
        assert_maintenance_message(receive_everywhere(sockets), ending.id, active=True)
        assert_maintenance_message(receive_everywhere(sockets), ending.id, active=False)

    def test_scheduled_notification_of_a_deleted_phase_is_dropped(self, sockets, celery_worker):
        deleted = running_phase()
        info = maintenance_info(deleted)
        deleted.delete()
        maintenance_notifier.delay(info)
        assert_nothing_sent(sockets)
