"""Response caching of `GET /users/` (ENABLE_CACHE) and the cache administration endpoint `/cache`."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accesses.models import Access
from admin_cohort.models import User
from tests.factories import RoleFactory, UserFactory, grant
from tests.fakes.http_server import closed_port_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def cache_on(settings):
    settings.ENABLE_CACHE = True


@pytest.fixture
def people(full_admin, user_manager):
    """A reader holding a valid access and a loner holding none (who sees only access holders and himself)."""
    reader = UserFactory(username="6000001", lastname="READER")
    grant(reader, RoleFactory(right_read_patient_nominative=True))
    loner = UserFactory(username="6000002", lastname="LONER")
    return {"admin": full_admin, "manager": user_manager, "reader": reader, "loner": loner}


def lastnames(response) -> dict[str, str]:
    assert response.status_code == 200, response.content
    return {row["username"]: row["lastname"] for row in response.json()["results"]}


def rename_silently(user: User, lastname: str) -> None:
    """A queryset update sends no signal: only a stale cached answer still shows the old name."""
    User.objects.filter(pk=user.pk).update(lastname=lastname)


def rename(user: User, lastname: str) -> None:
    user.refresh_from_db()
    user.lastname = lastname
    user.save()


class TestCachedAnswers:
    def test_an_answer_is_served_from_the_cache_until_a_save(self, cache_on, people, make_client):
        client = make_client(people["admin"])
        assert lastnames(client.get("/users/?ordering=lastname"))["6000001"] == "READER"
        rename_silently(people["reader"], "SILENT")
        assert lastnames(client.get("/users/?ordering=lastname"))["6000001"] == "READER"
        assert client.get("/users/6000001/").json()["lastname"] == "SILENT"  # another URL, not cached yet
        rename(people["reader"], "SAVED")
        assert lastnames(client.get("/users/?ordering=lastname"))["6000001"] == "SAVED"

    def test_each_query_string_has_its_own_answer(self, cache_on, people, make_client):
        client = make_client(people["admin"])
        ascending = [row["lastname"] for row in client.get("/users/?ordering=lastname").json()["results"]]
        descending = [row["lastname"] for row in client.get("/users/?ordering=-lastname").json()["results"]]
        assert descending == list(reversed(ascending))

    def test_without_cache_a_silent_update_is_visible_at_once(self, people, make_client):
        client = make_client(people["admin"])
        assert lastnames(client.get("/users/"))["6000001"] == "READER"
        rename_silently(people["reader"], "SILENT")
        assert lastnames(client.get("/users/"))["6000001"] == "SILENT"

    def test_an_unreachable_cache_costs_neither_reads_nor_writes(self, cache_on, settings, people, make_client):
        client = make_client(people["admin"])
        port = closed_port_url().rsplit(":", 1)[1]
        settings.CACHES = {
            "default": {
                "BACKEND": "django_redis.cache.RedisCache",
                "LOCATION": f"redis://127.0.0.1:{port}/0",
                "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5},
            }
        }
        assert lastnames(client.get("/users/"))["6000001"] == "READER"
        rename(people["reader"], "SAVED")
        assert lastnames(client.get("/users/"))["6000001"] == "SAVED"

    def test_two_users_never_get_each_others_answer(self, cache_on, people, make_client):
        UserFactory(username="6000003")  # holds no access: only managers see this user
        everybody = {"admin0001", "manager01", "6000001", "6000002", "6000003"}
        manager = make_client(people["manager"])
        loner = make_client(people["loner"])
        for _ in range(2):  # computed, then served from the cache
            assert set(lastnames(manager.get("/users/"))) == everybody
            assert set(lastnames(loner.get("/users/"))) == everybody - {"6000003"}
        assert loner.get("/users/6000003/").status_code == 404

    def test_impersonation_does_not_leak(self, cache_on, people, make_client):
        admin = make_client(people["admin"])
        hidden = UserFactory(username="6000009")  # holds no access: only managers see this user
        as_loner = admin.get("/users/", HTTP_X_IMPERSONATE="6000002")
        assert "6000009" not in lastnames(as_loner)
        assert "6000009" in lastnames(admin.get("/users/"))
        assert "6000009" not in lastnames(admin.get("/users/", HTTP_X_IMPERSONATE="6000002"))
        assert "6000009" not in lastnames(make_client(people["loner"]).get("/users/"))
        refused = make_client(people["loner"]).get("/users/", HTTP_X_IMPERSONATE="admin0001")
        assert refused.status_code == 403
        assert "6000009" in lastnames(admin.get("/users/", HTTP_X_IMPERSONATE=hidden.pk))


class TestRightsChanges:
    def test_granting_and_closing_an_access_invalidate(self, cache_on, people, make_client):
        loner = make_client(people["loner"])
        newcomer = UserFactory(username="6000004")
        assert "6000004" not in lastnames(loner.get("/users/"))
        access = grant(newcomer, RoleFactory())
        assert "6000004" in lastnames(loner.get("/users/"))
        access.end_datetime = timezone.now()
        access.save()
        assert "6000004" not in lastnames(loner.get("/users/"))

    def test_gaining_a_right_invalidates_the_callers_answer(self, cache_on, people, make_client):
        loner = make_client(people["loner"])
        hidden = UserFactory(username="6000005")
        assert hidden.pk not in lastnames(loner.get("/users/"))
        grant(people["loner"], RoleFactory(right_manage_users=True))
        assert hidden.pk in lastnames(loner.get("/users/"))

    def test_an_answer_expires_when_the_callers_access_ends(self, cache_on, people, make_client):
        hidden = UserFactory(username="6000006")
        manager = UserFactory(username="6000007")
        access = grant(manager, RoleFactory(right_manage_users=True))
        access.end_datetime = timezone.now() + timedelta(seconds=2)
        access.save()
        client = make_client(manager)
        assert hidden.pk in lastnames(client.get("/users/"))
        time.sleep(2.5)
        assert hidden.pk not in lastnames(client.get("/users/"))

    def test_an_answer_expires_when_a_listed_users_access_ends(self, cache_on, people, make_client):
        leaving = UserFactory(username="6000008")
        access = grant(leaving, RoleFactory())
        access.end_datetime = timezone.now() + timedelta(seconds=2)
        access.save()
        loner = make_client(people["loner"])
        assert leaving.pk in lastnames(loner.get("/users/"))
        time.sleep(2.5)
        assert leaving.pk not in lastnames(loner.get("/users/"))
        assert Access.objects.filter(pk=access.pk).exists()


@pytest.fixture
def cached_answers(cache_on, people, make_client):
    """Cached /users/ answers of the admin, of the loner, and of the admin impersonating the reader."""
    make_client(people["admin"]).get("/users/")
    make_client(people["admin"]).get("/users/", HTTP_X_IMPERSONATE="6000001")
    make_client(people["loner"]).get("/users/")
    return people


class TestCacheAdministration:
    @pytest.mark.parametrize("method", ["get", "delete"])
    def test_anonymous_is_refused(self, anonymous, method):
        assert getattr(anonymous, method)("/cache").status_code == 403

    @pytest.mark.parametrize("method", ["get", "delete"])
    def test_non_admins_are_refused(self, cached_answers, make_client, method):
        for caller in ("loner", "manager", "reader"):
            response = getattr(make_client(cached_answers[caller]), method)("/cache?keys_only=1")
            assert response.status_code == 403
        assert len(make_client(cached_answers["admin"]).get("/cache?keys_only=1").json()) == 3

    def test_keys_only(self, admin_client, cached_answers):
        response = admin_client.get("/cache?keys_only=1")
        assert response.status_code == 200
        keys = response.json()
        assert len(keys) == 3
        assert keys == sorted(keys)
        assert all(isinstance(key, str) for key in keys)

    def test_keys_of_one_user_include_what_they_saw_while_impersonating(self, admin_client, cached_answers):
        assert len(admin_client.get("/cache?keys_only=1&username=6000002").json()) == 1
        assert len(admin_client.get("/cache?keys_only=1&username=6000001").json()) == 1
        assert len(admin_client.get("/cache?keys_only=1&username=admin0001").json()) == 2
        assert admin_client.get("/cache?keys_only=1&username=600000").json() == []
        assert admin_client.get("/cache?keys_only=1&username=*").json() == []

    def test_values(self, admin_client, cached_answers):
        response = admin_client.get("/cache?username=6000002")
        assert response.status_code == 200
        (value,) = response.json().values()
        assert value["count"] == 4
        assert {row["username"] for row in value["results"]} == {"admin0001", "manager01", "6000001", "6000002"}

    def test_delete_one_users_answers_then_all(self, admin_client, cached_answers, make_client):
        response = admin_client.delete("/cache?username=6000002")
        assert response.status_code == 204
        assert admin_client.get("/cache?keys_only=1&username=6000002").json() == []
        assert len(admin_client.get("/cache?keys_only=1").json()) == 2
        rename_silently(cached_answers["reader"], "SILENT")
        assert lastnames(make_client(cached_answers["loner"]).get("/users/"))["6000001"] == "SILENT"
        assert admin_client.delete("/cache").status_code == 204
        assert admin_client.get("/cache?keys_only=1").json() == []
        assert lastnames(admin_client.get("/users/"))["6000001"] == "SILENT"

    def test_other_methods_are_not_allowed(self, admin_client):
        assert admin_client.post("/cache", {}, format="json").status_code == 405

    def test_with_the_cache_off(self, admin_client, people):
        admin_client.get("/users/")
        assert admin_client.get("/cache?keys_only=1").json() == []
        assert admin_client.get("/cache").json() == {}
        assert admin_client.delete("/cache?username=admin0001").status_code == 204
