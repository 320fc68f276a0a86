"""Profiles API (spec 01 §8.4, §11.6; client contract PRO-1).

Design decision tested as such: users holding right_full_admin, right_manage_users or an access-management
flag (through a valid access) see every profile; other users only their own.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accesses.models import ORBIS, Access, Profile
from accesses.tests.conftest import APHP
from tests.factories import RoleFactory, UserFactory, grant

pytestmark = pytest.mark.django_db

PROFILES = "/accesses/profiles/"
PROFILE_KEYS = {
    "id",
    "insert_datetime",
    "update_datetime",
    "delete_datetime",
    "source",
    "is_active",
    "user",
    "user_id",
    "firstname",
    "lastname",
    "email",
    "provider_id",
    "provider_name",
}


def usernames(response) -> list[str]:
    return sorted(item["user_id"] for item in response.json()["results"])


@pytest.fixture
def people(roles, tree):
    """Alice reads on P1 (a Manual and an ORBIS profile), Bob has a profile and no access, Carol's profile
    is deleted; the others hold one kind of management right on the root."""
    root = tree[APHP]
    alice = UserFactory(username="4000001", firstname="Alice", lastname="MARTIN", email="alice@example.org")
    grant(alice, roles["reader_nomi"], tree[1])
    Profile.objects.create(user=alice, source=ORBIS, is_active=False)
    bob = UserFactory(username="4000002", firstname="Bob", lastname="DURAND", email="bob@example.org")
    Profile.objects.create(user=bob)
    carol = UserFactory(username="4000003", firstname="Carol", lastname="BERNARD")
    Profile.objects.create(user=carol).delete()
    admin = UserFactory(username="admin0001", firstname="Ada", lastname="ADMIN")
    grant(admin, roles["full_admin"], root)
    user_manager = UserFactory(username="umanager1", firstname="Uma", lastname="USERS")
    grant(user_manager, RoleFactory(name="users only", right_manage_users=True), root)
    admin_manager = UserFactory(username="amanager1", firstname="Adam", lastname="ADMINS")
    grant(admin_manager, roles["admin_manager_same"], tree[2])
    data_manager = UserFactory(username="dmanager1", firstname="Dana", lastname="DATA")
    grant(data_manager, roles["data_manager_inf"], tree[10])
    return {
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "admin": admin,
        "user_manager": user_manager,
        "admin_manager": admin_manager,
        "data_manager": data_manager,
    }


EVERYBODY = ["4000001", "4000001", "4000002", "admin0001", "amanager1", "dmanager1", "umanager1"]


class TestShape:
    def test_list_shape_in_a_page_envelope(self, make_client, people):
        response = make_client(people["admin"]).get(f"{PROFILES}?user_id=4000001")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 2
        for item in body["results"]:
            assert set(item) == PROFILE_KEYS
        manual = next(item for item in body["results"] if item["source"] == "Manual")
        manual_profile = Profile.objects.get(user=people["alice"], source="Manual")
        assert manual["id"] == manual_profile.id
        assert manual["is_active"] is True
        assert manual["user"] == manual["user_id"] == manual["provider_id"] == "4000001"
        assert manual["firstname"] == "Alice"
        assert manual["lastname"] == "MARTIN"
        assert manual["email"] == "alice@example.org"
        assert manual["provider_name"] == "Alice MARTIN (4000001)"
        assert manual["delete_datetime"] is None
        orbis = next(item for item in body["results"] if item["source"] == "ORBIS")
        assert orbis["is_active"] is False
        assert orbis["provider_name"] == "Alice MARTIN (4000001)"

    def test_retrieve_shape(self, make_client, people):
        profile = Profile.objects.get(user=people["bob"])
        response = make_client(people["user_manager"]).get(f"{PROFILES}{profile.id}/")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == PROFILE_KEYS
        assert body["id"] == profile.id
        assert body["source"] == "Manual"
        assert body["user"] == body["user_id"] == body["provider_id"] == "4000002"
        assert body["provider_name"] == "Bob DURAND (4000002)"
        assert (body["firstname"], body["lastname"], body["email"]) == ("Bob", "DURAND", "bob@example.org")

    def test_unknown_profile_is_a_404(self, make_client, people):
        assert make_client(people["admin"]).get(f"{PROFILES}987654/").status_code == 404


class TestFilters:
    def test_user_id_is_an_exact_username(self, make_client, people):
        client = make_client(people["user_manager"])
        assert usernames(client.get(f"{PROFILES}?user_id=4000002")) == ["4000002"]
        assert usernames(client.get(f"{PROFILES}?user_id=400000")) == []
        assert usernames(client.get(f"{PROFILES}?user_id=unknown")) == []

    @pytest.mark.parametrize(
        "search, expected",
        [
            ("mart", ["4000001", "4000001"]),  # last name, case-insensitive
            ("BOB", ["4000002"]),  # first name
            ("4000002", ["4000002"]),  # username
            ("400000", ["4000001", "4000001", "4000002"]),
            ("bernard", []),  # deleted profile
            ("nobody", []),
        ],
    )
    def test_search(self, make_client, people, search, expected):
        response = make_client(people["admin"]).get(f"{PROFILES}?search={search}")
        assert response.status_code == 200
        assert usernames(response) == expected

    def test_deleted_profiles_are_hidden(self, make_client, people):
        carol = Profile.all_objects.get(user=people["carol"])
        client = make_client(people["admin"])
        assert usernames(client.get(f"{PROFILES}?user_id=4000003")) == []
        assert client.get(f"{PROFILES}{carol.id}/").status_code == 404

    def test_page_number_pagination_of_20(self, make_client, people):
        for index in range(20):
            Profile.objects.create(user=UserFactory(username=f"bulk{index:03d}"))
        client = make_client(people["admin"])
        body = client.get(f"{PROFILES}?page=1&page_size=5").json()
        assert body["count"] == 27
        assert len(body["results"]) == 20
        assert body["next"] is not None
        body = client.get(f"{PROFILES}?page=2").json()
        assert len(body["results"]) == 7
        assert body["next"] is None
        assert client.get(f"{PROFILES}?page=9").status_code == 404


class TestVisibility:
    @pytest.mark.parametrize("who", ["admin", "user_manager", "admin_manager", "data_manager"])
    def test_managers_see_every_profile(self, make_client, people, who):
        client = make_client(people[who])
        response = client.get(PROFILES)
        assert response.status_code == 200
        assert usernames(response) == EVERYBODY
        bob = Profile.objects.get(user=people["bob"])
        assert client.get(f"{PROFILES}{bob.id}/").status_code == 200

    def test_other_users_see_only_their_own(self, make_client, people):
        client = make_client(people["alice"])
        response = client.get(PROFILES)
        assert response.status_code == 200
        assert usernames(response) == ["4000001", "4000001"]
        assert usernames(client.get(f"{PROFILES}?user_id=4000002")) == []
        assert usernames(client.get(f"{PROFILES}?search=bob")) == []
        bob = Profile.objects.get(user=people["bob"])
        assert client.get(f"{PROFILES}{bob.id}/").status_code == 404
        own = Profile.objects.get(user=people["alice"], source="Manual")
        assert client.get(f"{PROFILES}{own.id}/").status_code == 200

    def test_a_user_without_any_access_sees_only_their_own(self, make_client, people):
        response = make_client(people["bob"]).get(PROFILES)
        assert usernames(response) == ["4000002"]

    def test_a_user_without_any_profile_sees_nothing(self, make_client, people):
        response = make_client(UserFactory()).get(PROFILES)
        assert response.status_code == 200
        assert response.json()["count"] == 0

    def test_reading_rights_do_not_open_every_profile(self, make_client, people, roles, tree):
        reader = UserFactory(username="reader002")
        grant(reader, roles["full_access_reader"], tree[APHP])
        grant(reader, RoleFactory(name="datalabs", right_manage_datalabs=True, right_read_datalabs=True))
        assert usernames(make_client(reader).get(PROFILES)) == ["reader002"]

    def test_an_expired_management_access_does_not_count(self, make_client, people, roles, tree):
        former = UserFactory(username="former001")
        access = grant(former, roles["admin_manager"], tree[APHP])
        Access.objects.filter(pk=access.pk).update(
            start_datetime=timezone.now() - timedelta(days=10), end_datetime=timezone.now() - timedelta(minutes=1)
        )
        assert usernames(make_client(former).get(PROFILES)) == ["former001"]

    def test_a_future_management_access_does_not_count(self, make_client, people, roles, tree):
        future = UserFactory(username="future001")
        access = grant(future, roles["admin_manager"], tree[APHP])
        Access.objects.filter(pk=access.pk).update(
            start_datetime=timezone.now() + timedelta(days=1), end_datetime=timezone.now() + timedelta(days=10)
        )
        assert usernames(make_client(future).get(PROFILES)) == ["future001"]

    def test_a_management_access_on_an_inactive_profile_does_not_count(self, make_client, people, roles, tree):
        inactive = UserFactory(username="inactive1")
        grant(inactive, roles["admin_manager"], tree[APHP])
        Profile.objects.filter(user=inactive).update(is_active=False)
        assert usernames(make_client(inactive).get(PROFILES)) == ["inactive1"]


class TestRefused:
    def test_anonymous_is_refused(self, anonymous, people):
        profile = Profile.objects.get(user=people["bob"])
        assert anonymous.get(PROFILES).status_code == 403
        assert anonymous.get(f"{PROFILES}{profile.id}/").status_code == 403
        assert anonymous.get(f"{PROFILES}?user_id=4000002").status_code == 403

    @pytest.mark.parametrize("who", ["admin", "alice"])
    def test_writes_are_refused(self, make_client, people, who):
        client = make_client(people[who])
        profile = Profile.objects.get(user=people["bob"])
        before = Profile.all_objects.count()
        assert client.post(PROFILES, {"user_id": "4000002", "source": "Manual"}, format="json").status_code in (
            403,
            405,
        )
        assert client.patch(f"{PROFILES}{profile.id}/", {"is_active": False}, format="json").status_code in (403, 405)
        assert client.delete(f"{PROFILES}{profile.id}/").status_code in (403, 405)
        assert client.put(f"{PROFILES}{profile.id}/", {"is_active": False}, format="json").status_code == 405
        assert Profile.all_objects.count() == before
        profile.refresh_from_db()
        assert profile.is_active is True and profile.delete_datetime is None

    @pytest.mark.parametrize("method", ["post", "patch", "put", "delete"])
    def test_anonymous_writes_are_refused(self, anonymous, people, method):
        profile = Profile.objects.get(user=people["bob"])
        assert getattr(anonymous, method)(f"{PROFILES}{profile.id}/", {}, format="json").status_code == 403
