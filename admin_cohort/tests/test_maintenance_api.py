"""/maintenances/ (spec 01 §5.1-5.2 and §23.3, client contract §3.17)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings
from django.utils import timezone
from rest_framework.test import APIClient

from accesses.models import RIGHT_FLAGS
from admin_cohort.models import MaintenancePhase
from tests.factories import MaintenancePhaseFactory, PerimeterFactory, RoleFactory, UserFactory, full_admin_role, grant
from tests.races import while_a_write_is_uncommitted

pytestmark = pytest.mark.django_db

FIELDS = {
    "id",
    "insert_datetime",
    "update_datetime",
    "delete_datetime",
    "subject",
    "message",
    "type",
    "start_datetime",
    "end_datetime",
    "maintenance_start",
    "maintenance_end",
    "active",
}
START_AFTER_END = {"non_field_errors": ["end_datetime is lower than start_datetime"]}
PORTAIL_CREATION = {
    "subject": "Maintenance du 02/06/2026",
    "message": "",
    "type": "partial",
    "start_datetime": "2026-06-02T08:00:00.000Z",
    "end_datetime": "2026-06-02T09:00:00.000Z",
    "is_data_saved_message_hidden": False,
}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def phase_ids(response) -> list[int]:
    return [phase["id"] for phase in response.json()["results"]]


def snapshot() -> list[tuple]:
    return list(MaintenancePhase.all_objects.order_by("id").values_list())


def token_client(token: str) -> APIClient:
    """How the machine clients call: a static bearer token and no AuthorizationMethod."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


@pytest.fixture(params=["leaf-full-admin", "rollout-token", "query-executor-token", "solr-etl-token"])
def writer(request, make_client):
    """Every kind of caller allowed to write phases."""
    if request.param == "leaf-full-admin":
        leaf = PerimeterFactory(parent=PerimeterFactory(parent=PerimeterFactory(), level=2), level=3)
        admin = UserFactory()
        grant(admin, full_admin_role(), leaf)
        return make_client(admin)
    usernames_and_tokens = {
        "rollout-token": (settings.ROLLOUT_USERNAME, settings.ROLLOUT_TOKEN),
        "query-executor-token": (settings.QUERY_EXECUTOR_USERNAME, settings.QUERY_EXECUTOR_TOKEN),
        "solr-etl-token": (settings.SOLR_ETL_USERNAME, settings.SOLR_ETL_TOKEN),
    }
    username, token = usernames_and_tokens[request.param]
    UserFactory(username=username)
    return token_client(token)


@pytest.fixture(params=["anonymous", "every-right-but-full-admin", "no-right", "bad-token"])
def refused(request, anonymous, make_client):
    if request.param == "anonymous":
        return anonymous
    if request.param == "bad-token":
        return token_client("not-a-known-token")
    user = UserFactory()
    if request.param == "every-right-but-full-admin":
        grant(user, RoleFactory(**{flag: True for flag in RIGHT_FLAGS if flag != "right_full_admin"}))
    return make_client(user)


class TestList:
    def test_public_page_envelope_without_deleted_phases(self, anonymous, django_assert_max_num_queries):
        phases = MaintenancePhaseFactory.create_batch(3)
        MaintenancePhaseFactory(delete_datetime=timezone.now())
        with django_assert_max_num_queries(2):
            response = anonymous.get("/maintenances/")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 3
        assert sorted(phase_ids(response)) == sorted(p.id for p in phases)
        item = body["results"][0]
        assert set(item) == FIELDS
        assert item["maintenance_start"] == item["start_datetime"]
        assert item["maintenance_end"] == item["end_datetime"]
        assert item["active"] is False and item["delete_datetime"] is None

    def test_head_and_options(self, anonymous):
        assert anonymous.head("/maintenances/").status_code == 200
        assert anonymous.options("/maintenances/").status_code == 200

    def test_user_without_any_right_lists_phases(self, user_client):
        MaintenancePhaseFactory()
        assert user_client.get("/maintenances/").json()["count"] == 1

    def test_pages_of_twenty(self, anonymous):
        MaintenancePhaseFactory.create_batch(21)
        first = anonymous.get("/maintenances/?page=1&page_size=50").json()
        assert first["count"] == 21 and len(first["results"]) == 20 and first["next"]
        assert len(anonymous.get("/maintenances/?page=2").json()["results"]) == 1

    def test_filters(self, anonymous):
        early = MaintenancePhaseFactory(
            subject="Mise à jour FHIR", start_datetime=at("2025-06-01T20:00:00"), end_datetime=at("2025-06-01T22:00:00")
        )
        late = MaintenancePhaseFactory(
            subject="Upgrade", start_datetime=at("2025-07-01T20:00:00"), end_datetime=at("2025-07-02T06:00:00")
        )
        cases = {
            "subject=Upgrade": [late.id],
            "subject=upgrade": [],
            "start_datetime=2025-06-01T20:00:00Z": [early.id],
            "start_datetime=2025-06-01T22:00:00%2B02:00": [early.id],
            "end_datetime=2025-07-02T06:00:00Z": [late.id],
            "min_start_datetime=2025-06-15": [late.id],
            "min_start_datetime=2025-06-01T20:00:00Z": [early.id, late.id],
            "max_end_datetime=2025-06-01T22:00:00Z": [early.id],
            "max_end_datetime=2025-06-01": [],
            "search=fhir": [early.id],
            "ordering=start_datetime": [early.id, late.id],
            "ordering=-start_datetime&page=1&page_size=20": [late.id, early.id],
            "ordering=end_datetime": [early.id, late.id],
            "ordering=-end_datetime": [late.id, early.id],
        }
        for query, expected in cases.items():
            response = anonymous.get(f"/maintenances/?{query}")
            assert response.status_code == 200, query
            ids = phase_ids(response)
            assert (ids if query.startswith("ordering") else sorted(ids)) == expected, query

    @pytest.mark.parametrize(
        "query",
        [
            "start_datetime=yesterday",
            "end_datetime=2025-02-30T10:00:00Z",
            "min_start_datetime=2025-13-01",
            "max_end_datetime=12345678901234567890",
            "ordering=subject",
            "ordering=-message",
            "subject=%00",
            "search=a%00b",
        ],
    )
    def test_bad_filter_values_give_400(self, anonymous, query):
        MaintenancePhaseFactory()
        response = anonymous.get(f"/maintenances/?{query}")
        assert response.status_code == 400, response.content


class TestRetrieve:
    def test_public(self, anonymous):
        phase = MaintenancePhaseFactory(type="full", message=None)
        response = anonymous.get(f"/maintenances/{phase.id}/")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == FIELDS
        assert body["id"] == phase.id and body["type"] == "full" and body["message"] is None
        assert parse(body["start_datetime"]) == phase.start_datetime

    def test_active_is_computed(self, anonymous):
        now = timezone.now()
        phase = MaintenancePhaseFactory(
            start_datetime=now - timedelta(minutes=5), end_datetime=now + timedelta(hours=1)
        )
        assert anonymous.get(f"/maintenances/{phase.id}/").json()["active"] is True

    @pytest.mark.parametrize("key", ["deleted", "999999", "abc", "99999999999999999999999"])
    def test_missing_phases_give_404(self, anonymous, key):
        deleted = MaintenancePhaseFactory(delete_datetime=timezone.now())
        path_key = deleted.id if key == "deleted" else key
        assert anonymous.get(f"/maintenances/{path_key}/").status_code == 404


class TestNext:
    def test_empty_object_when_nothing_is_planned(self, anonymous):
        response = anonymous.get("/maintenances/next/")
        assert response.status_code == 200
        assert response.json() == {}

    def test_empty_object_when_only_past_or_deleted_phases(self, anonymous):
        now = timezone.now()
        MaintenancePhaseFactory(start_datetime=now - timedelta(days=2), end_datetime=now - timedelta(days=1))
        MaintenancePhaseFactory(delete_datetime=now)
        assert anonymous.get("/maintenances/next/").json() == {}

    def test_earliest_future_phase(self, anonymous):
        now = timezone.now()
        MaintenancePhaseFactory(start_datetime=now + timedelta(days=2), end_datetime=now + timedelta(days=3))
        soonest = MaintenancePhaseFactory(start_datetime=now + timedelta(days=1), end_datetime=now + timedelta(days=4))
        body = anonymous.get("/maintenances/next/?ordering=-start_datetime").json()
        assert body["id"] == soonest.id
        assert set(body) == FIELDS and body["active"] is False

    def test_current_phase_ending_last_wins_over_future_ones(self, anonymous):
        now = timezone.now()
        MaintenancePhaseFactory(start_datetime=now + timedelta(minutes=1), end_datetime=now + timedelta(minutes=2))
        MaintenancePhaseFactory(start_datetime=now - timedelta(hours=1), end_datetime=now + timedelta(hours=1))
        last = MaintenancePhaseFactory(start_datetime=now - timedelta(minutes=1), end_datetime=now + timedelta(hours=3))
        body = anonymous.get("/maintenances/next/").json()
        assert body["id"] == last.id and body["active"] is True


class TestCreate:
    def test_allowed_writers(self, writer):
        response = writer.post(
            "/maintenances/",
            {
                "subject": "Upgrade",
                "message": "Read-only mode",
                "type": "full",
                "start_datetime": "2026-06-02T08:00:00Z",
                "end_datetime": "2026-06-02T10:00:00+02:00",
            },
            format="json",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == FIELDS
        phase = MaintenancePhase.objects.get(pk=body["id"])
        assert (phase.subject, phase.message, phase.type) == ("Upgrade", "Read-only mode", "full")
        assert phase.start_datetime == phase.end_datetime == at("2026-06-02T08:00:00")
        assert parse(body["maintenance_end"]) == phase.end_datetime

    def test_portail_body_with_unknown_field(self, admin_client):
        response = admin_client.post("/maintenances/", PORTAIL_CREATION, format="json")
        assert response.status_code == 201, response.content
        assert "is_data_saved_message_hidden" not in response.json()
        phase = MaintenancePhase.objects.get()
        assert phase.start_datetime == at("2026-06-02T08:00:00") and phase.message == ""

    def test_defaults_and_past_dates(self, admin_client):
        response = admin_client.post(
            "/maintenances/",
            {"subject": "Old", "start_datetime": "2020-01-01T00:00:00", "end_datetime": "2020-01-01T01:00:00"},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert response.json()["type"] == "partial" and response.json()["message"] is None

    def test_refused(self, refused):
        response = refused.post("/maintenances/", PORTAIL_CREATION, format="json")
        assert response.status_code == 403
        assert not MaintenancePhase.all_objects.exists()

    def test_start_after_end(self, admin_client):
        body = {**PORTAIL_CREATION, "start_datetime": "2026-06-02T09:00:00.001Z"}
        response = admin_client.post("/maintenances/", body, format="json")
        assert response.status_code == 400
        assert response.json() == START_AFTER_END
        assert not MaintenancePhase.all_objects.exists()

    @pytest.mark.parametrize(
        "changes",
        [
            {"subject": None},
            {"subject": ""},
            {"subject": "a\x00b"},
            {"message": "a\x00b"},
            {"type": "weird"},
            {"start_datetime": None},
            {"start_datetime": "tomorrow"},
            {"start_datetime": "2026-02-30T08:00:00Z"},
            {"end_datetime": 12},
            {"end_datetime": ["2026-06-02T09:00:00Z"]},
            {"start_datetime": "0001-01-01T00:00:00+05:00"},
            {"end_datetime": "9999-12-31T23:59:59-05:00"},
        ],
    )
    def test_bad_input(self, admin_client, changes):
        response = admin_client.post("/maintenances/", {**PORTAIL_CREATION, **changes}, format="json")
        assert response.status_code == 400, response.content
        assert set(response.json()) <= set(changes) | {"non_field_errors"}
        assert not MaintenancePhase.all_objects.exists()

    @pytest.mark.parametrize("field", ["subject", "start_datetime", "end_datetime"])
    def test_required_fields(self, admin_client, field):
        body = {k: v for k, v in PORTAIL_CREATION.items() if k != field}
        response = admin_client.post("/maintenances/", body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not MaintenancePhase.all_objects.exists()

    def test_non_json_body(self, admin_client):
        response = admin_client.post("/maintenances/", "{not json", content_type="application/json")
        assert response.status_code == 400
        assert not MaintenancePhase.all_objects.exists()


class TestUpdate:
    @pytest.mark.django_db(transaction=True)
    def test_an_edit_racing_a_delete_leaves_the_phase_deleted(self, admin_client):
        """The PATCH read the phase before the delete committed: writing back every column would revive it."""
        phase = MaintenancePhaseFactory()
        response = while_a_write_is_uncommitted(
            lambda: MaintenancePhase.objects.get(pk=phase.pk).delete(),
            lambda: admin_client.patch(f"/maintenances/{phase.id}/", {"subject": "Edited"}, format="json"),
        )
        assert response.status_code == 200, response.content
        assert MaintenancePhase.all_objects.get(pk=phase.pk).delete_datetime is not None

    @pytest.mark.parametrize(
        ("field", "value", "stored"),
        [
            ("subject", "New subject", "New subject"),
            ("message", None, None),
            ("type", "full", "full"),
            ("start_datetime", "2030-01-01T09:30:00Z", at("2030-01-01T09:30:00")),
            ("end_datetime", "2030-01-02T00:00:00+01:00", at("2030-01-01T23:00:00")),
        ],
    )
    def test_allowed_writers_patch_each_field(self, writer, field, value, stored):
        phase = MaintenancePhaseFactory(
            start_datetime=at("2030-01-01T08:00:00"), end_datetime=at("2030-01-01T23:00:00")
        )
        response = writer.patch(f"/maintenances/{phase.id}/", {field: value}, format="json")
        assert response.status_code == 200, response.content
        phase.refresh_from_db()
        assert getattr(phase, field) == stored
        assert set(response.json()) == FIELDS

    def test_portail_full_object_patch_ignores_read_only_fields(self, admin_client):
        phase = MaintenancePhaseFactory()
        listed = admin_client.get("/maintenances/").json()["results"][0]
        edited = {
            **listed,
            "subject": "Edited",
            "is_data_saved_message_hidden": True,
            "id": phase.id + 1000,
            "active": True,
            "maintenance_start": "2000-01-01T00:00:00Z",
            "maintenance_end": "2000-01-01T00:00:00Z",
            "insert_datetime": "2000-01-01T00:00:00Z",
            "delete_datetime": "2000-01-01T00:00:00Z",
        }
        response = admin_client.patch(f"/maintenances/{phase.id}/", edited, format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["id"] == phase.id and body["subject"] == "Edited" and body["delete_datetime"] is None
        assert body["maintenance_start"] == listed["maintenance_start"]
        stored = MaintenancePhase.objects.get(pk=phase.id)
        assert stored.subject == "Edited" and stored.insert_datetime == phase.insert_datetime

    @pytest.mark.parametrize(
        "changes",
        [
            {"start_datetime": "2030-01-02T00:00:00Z"},
            {"end_datetime": "2030-01-01T07:59:59Z"},
            {"start_datetime": "2030-01-01T12:00:00Z", "end_datetime": "2030-01-01T11:00:00Z"},
        ],
    )
    def test_start_after_end_against_merged_values(self, admin_client, changes):
        phase = MaintenancePhaseFactory(
            start_datetime=at("2030-01-01T08:00:00"), end_datetime=at("2030-01-01T23:00:00")
        )
        before = snapshot()
        response = admin_client.patch(f"/maintenances/{phase.id}/", changes, format="json")
        assert response.status_code == 400
        assert response.json() == START_AFTER_END
        assert snapshot() == before

    def test_equal_bounds_are_allowed(self, admin_client):
        phase = MaintenancePhaseFactory(
            start_datetime=at("2030-01-01T08:00:00"), end_datetime=at("2030-01-01T23:00:00")
        )
        response = admin_client.patch(f"/maintenances/{phase.id}/", {"end_datetime": "2030-01-01T08:00:00Z"})
        assert response.status_code == 200

    @pytest.mark.parametrize(
        "changes",
        [{"start_datetime": "soon"}, {"end_datetime": None}, {"subject": ""}, {"type": "FULL"}, {"subject": ["x"]}],
    )
    def test_bad_input(self, admin_client, changes):
        phase = MaintenancePhaseFactory()
        before = snapshot()
        response = admin_client.patch(f"/maintenances/{phase.id}/", changes, format="json")
        assert response.status_code == 400, response.content
        assert snapshot() == before

    def test_refused(self, refused):
        phase = MaintenancePhaseFactory()
        before = snapshot()
        response = refused.patch(f"/maintenances/{phase.id}/", {"subject": "Hacked"}, format="json")
        assert response.status_code == 403
        assert snapshot() == before

    def test_deleted_or_unknown_phase_gives_404(self, admin_client):
        deleted = MaintenancePhaseFactory(delete_datetime=timezone.now())
        for key in (deleted.id, 424242, "abc"):
            assert admin_client.patch(f"/maintenances/{key}/", {"subject": "x"}, format="json").status_code == 404
        assert MaintenancePhase.all_objects.get().subject != "x"

    def test_put_is_not_offered(self, admin_client):
        phase = MaintenancePhaseFactory()
        before = snapshot()
        response = admin_client.put(f"/maintenances/{phase.id}/", {**PORTAIL_CREATION}, format="json")
        assert response.status_code == 405
        assert snapshot() == before


class TestDelete:
    def test_allowed_writers_soft_delete(self, writer, anonymous):
        phase = MaintenancePhaseFactory()
        response = writer.delete(f"/maintenances/{phase.id}/")
        assert response.status_code == 204
        assert response.content == b""
        row = MaintenancePhase.all_objects.get(pk=phase.id)
        assert row.delete_datetime is not None and row.subject == phase.subject
        assert anonymous.get(f"/maintenances/{phase.id}/").status_code == 404
        assert anonymous.get("/maintenances/").json()["count"] == 0
        assert writer.delete(f"/maintenances/{phase.id}/").status_code == 404

    def test_refused(self, refused):
        phase = MaintenancePhaseFactory()
        assert refused.delete(f"/maintenances/{phase.id}/").status_code == 403
        assert MaintenancePhase.objects.filter(pk=phase.id).exists()

    @pytest.mark.parametrize("key", ["424242", "abc", "99999999999999999999999"])
    def test_unknown_phase_gives_404(self, admin_client, key):
        MaintenancePhaseFactory()
        assert admin_client.delete(f"/maintenances/{key}/").status_code == 404
        assert MaintenancePhase.objects.count() == 1
