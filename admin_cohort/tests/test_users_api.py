from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accesses.models import Access, Profile
from admin_cohort.models import User
from tests.factories import RoleFactory, UserFactory, grant

pytestmark = pytest.mark.django_db
NEW_USER = {"username": "4123456", "firstname": "Jean", "lastname": "Dupont", "email": "jean.dupont@aphp.fr"}


def usernames(response) -> set[str]:
    return {u["username"] for u in response.json()["results"]}


@pytest.fixture
def population(db):
    """A reader (valid access), an expired one, one whose profile is inactive, one without any access."""
    reader = UserFactory(username="5000001", lastname="ALPHA")
    grant(reader, RoleFactory(right_read_patient_nominative=True))
    expired = UserFactory(username="5000002", lastname="BRAVO")
    access = grant(expired, RoleFactory())
    Access.objects.filter(pk=access.pk).update(end_datetime=timezone.now() - timedelta(days=1))
    inactive = UserFactory(username="5000003", lastname="CHARLIE")
    grant(inactive, RoleFactory())
    Profile.objects.filter(user=inactive).update(is_active=False)
    loner = UserFactory(username="5000004", lastname="DELTA")
    return {"reader": reader, "expired": expired, "inactive": inactive, "loner": loner}


class TestList:
    def test_anonymous_is_refused(self, anonymous):
        assert anonymous.get("/users/").status_code == 403

    def test_manager_sees_everybody_in_a_page_envelope(self, make_client, user_manager, population):
        response = make_client(user_manager).get("/users/?page=1&page_size=5&ordering=lastname")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 5
        assert [u["lastname"] for u in body["results"]] == ["ALPHA", "BRAVO", "CHARLIE", "DELTA", "MANAGER"]
        assert set(body["results"][0]) == {
            "username",
            "firstname",
            "lastname",
            "email",
            "display_name",
            "created_by",
            "updated_by",
        }

    def test_other_users_only_see_users_they_could_share_with(self, make_client, population):
        response = make_client(population["loner"]).get("/users/")
        assert response.status_code == 200
        assert usernames(response) == {"5000001", "5000004"}
        assert make_client(population["loner"]).get("/users/5000003/").status_code == 404

    def test_with_access_and_manual_only(self, make_client, user_manager, population):
        client = make_client(user_manager)
        assert usernames(client.get("/users/?with_access=true")) == {"5000001", user_manager.username}
        assert len(usernames(client.get("/users/?with_access=false"))) == 5
        manual = client.get("/users/?manual_only=true&page=1&ordering=lastname")
        assert "5000004" not in usernames(manual) and "5000001" in usernames(manual)

    @pytest.mark.parametrize("query", ["with_access=yes", "manual_only=1", "with_access=True"])
    def test_non_literal_booleans_give_400(self, make_client, user_manager, query):
        assert make_client(user_manager).get(f"/users/?{query}").status_code == 400

    def test_search_filters_and_orderings(self, make_client, user_manager, population):
        client = make_client(user_manager)
        assert usernames(client.get("/users/?search=charl")) == {"5000003"}
        assert usernames(client.get("/users/?lastname=delt")) == {"5000004"}
        assert usernames(client.get("/users/?email=5000002@")) == {"5000002"}
        for field in ("username", "lastname", "firstname", "email", "created_by", "updated_by"):
            assert client.get(f"/users/?ordering=-{field}").status_code == 200
        assert client.get("/users/?page=99").status_code == 404

    def test_query_count_does_not_grow_with_users(self, make_client, user_manager, django_assert_max_num_queries):
        creator = UserFactory()
        for _ in range(25):
            UserFactory(created_by=creator, updated_by=creator)
        client = make_client(user_manager)
        with django_assert_max_num_queries(8):
            response = client.get("/users/?ordering=created_by")
        assert len(response.json()["results"]) == 20
        assert any(u["created_by"] == creator.display_name for u in response.json()["results"])


class TestCreate:
    def test_user_manager_creates_a_user_with_a_manual_profile(self, make_client, user_manager):
        response = make_client(user_manager).post("/users/", {**NEW_USER, "password": "S3cret!pw"}, format="json")
        assert response.status_code == 201
        body = response.json()
        assert "password" not in body
        assert body["created_by"] == body["updated_by"] == user_manager.display_name
        created = User.objects.get(pk="4123456")
        assert created.password != "S3cret!pw" and created.check_password("S3cret!pw")
        assert Profile.objects.filter(user=created, source="Manual", is_active=True).count() == 1

    def test_without_password_the_user_cannot_log_in_locally(self, make_client, user_manager):
        assert make_client(user_manager).post("/users/", NEW_USER, format="json").status_code == 201
        assert not User.objects.get(pk="4123456").has_usable_password()

    def test_full_admin_may_create(self, admin_client):
        assert admin_client.post("/users/", NEW_USER, format="json").status_code == 201

    def test_anonymous_and_non_managers_are_refused(self, anonymous, user_client):
        assert anonymous.post("/users/", NEW_USER, format="json").status_code == 403
        assert user_client.post("/users/", NEW_USER, format="json").status_code == 403
        assert not User.objects.filter(pk="4123456").exists()

    @pytest.mark.parametrize(
        "change",
        [
            {"email": "not-an-email"},
            {"email": ""},
            {"firstname": ""},
            {"firstname": "J3an"},
            {"lastname": "<script>"},
            {"username": ""},
            {"username": "has space"},
            {"username": "x" * 31},
            {"firstname": None},
            {"email": ["a@b.fr"]},
        ],
    )
    def test_bad_input_gives_400_and_creates_nothing(self, make_client, user_manager, change):
        before = User.objects.count()
        response = make_client(user_manager).post("/users/", {**NEW_USER, **change}, format="json")
        assert response.status_code == 400
        assert User.objects.count() == before

    def test_duplicates_give_400(self, make_client, user_manager):
        client = make_client(user_manager)
        client.post("/users/", NEW_USER, format="json")
        assert client.post("/users/", NEW_USER, format="json").status_code == 400
        other = {**NEW_USER, "username": "4123457"}
        assert client.post("/users/", other, format="json").status_code == 400

    def test_creation_is_audited_without_the_password(self, make_client, user_manager):
        from admin_cohort.models import RequestLog

        make_client(user_manager).post("/users/", {**NEW_USER, "password": "S3cret!pw"}, format="json")
        log = RequestLog.objects.get(path="/users/", method="POST")
        assert log.status_code == 201 and log.username_persistent == user_manager.username
        assert "S3cret!pw" not in (log.data or "")


class TestUpdateAndDelete:
    def test_manager_patches_identity_fields(self, make_client, user_manager, user):
        response = make_client(user_manager).patch(
            f"/users/{user.username}/", {"email": "new.mail@aphp.fr", "firstname": "Zoé"}, format="json"
        )
        assert response.status_code == 200
        user.refresh_from_db()
        assert (user.email, user.firstname, user.updated_by_id) == ("new.mail@aphp.fr", "Zoé", user_manager.pk)

    def test_password_and_username_cannot_be_patched(self, make_client, user_manager, user):
        old_hash = user.password
        response = make_client(user_manager).patch(
            f"/users/{user.username}/", {"password": "plain", "username": "hijack"}, format="json"
        )
        assert response.status_code == 200
        user.refresh_from_db()
        assert user.password == old_hash and not User.objects.filter(pk="hijack").exists()

    def test_bad_patch_gives_400(self, make_client, user_manager, user):
        assert (
            make_client(user_manager).patch(f"/users/{user.username}/", {"email": "x"}, format="json").status_code
            == 400
        )
        user.refresh_from_db()
        assert user.email.endswith("@example.org")

    def test_non_managers_cannot_patch(self, anonymous, make_client, user):
        other = UserFactory()
        assert anonymous.patch(f"/users/{user.username}/", {"firstname": "A"}, format="json").status_code == 403
        assert (
            make_client(other).patch(f"/users/{user.username}/", {"firstname": "A"}, format="json").status_code == 403
        )

    def test_patch_unknown_user_is_404(self, make_client, user_manager):
        assert make_client(user_manager).patch("/users/nobody/", {"firstname": "A"}, format="json").status_code == 404

    def test_delete_and_put_are_refused(self, admin_client, user):
        assert admin_client.delete(f"/users/{user.username}/").status_code in (403, 405)
        assert admin_client.put(f"/users/{user.username}/", NEW_USER, format="json").status_code in (403, 405)
        assert User.objects.filter(pk=user.pk).exists()

    def test_retrieve(self, make_client, user_manager, user):
        response = make_client(user_manager).get(f"/users/{user.username}/")
        assert response.status_code == 200
        assert response.json()["email"] == user.email
