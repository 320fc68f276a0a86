"""`X-Impersonate` (spec 01 §3.10, §23.8): full admins act as another user, and the audit trail names both."""

from __future__ import annotations

import pytest

from accesses.models import Profile
from admin_cohort.models import RequestLog
from tests.factories import UserFactory, grant

MY_ACCESSES = "/accesses/accesses/my-accesses/"


@pytest.fixture
def admin(tree, roles):
    user = UserFactory(username="7000001")
    grant(user, roles["full_admin"], tree[9999])
    return user


@pytest.fixture
def reader(tree, roles):
    user = UserFactory(username="7000002")
    grant(user, roles["reader_nomi"], tree[4])
    return user


def _perimeters(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["perimeter_id"] for item in response.json()]


def test_without_the_header_the_caller_is_themself(make_client, admin):
    assert _perimeters(make_client(admin).get(MY_ACCESSES)) == [9999]


def test_a_full_admin_acts_as_the_target(make_client, admin, reader):
    client = make_client(admin)
    assert _perimeters(client.get(MY_ACCESSES, HTTP_X_IMPERSONATE=reader.username)) == [4]
    # The admin's own rights are not kept: the reader may not list accesses.
    assert client.get("/accesses/accesses/", HTTP_X_IMPERSONATE=reader.username).status_code == 403


def test_an_unknown_target_leaves_the_admin_as_themself(make_client, admin):
    assert _perimeters(make_client(admin).get(MY_ACCESSES, HTTP_X_IMPERSONATE="nobody-here")) == [9999]


def test_a_non_admin_cannot_impersonate(make_client, admin, reader):
    response = make_client(reader).get(MY_ACCESSES, HTTP_X_IMPERSONATE=admin.username)
    assert response.status_code == 403
    assert response.json() == {"detail": "Vous n'avez pas le droit d'impersonnifier un autre utilisateur"}


def test_writes_are_logged_with_both_identities(make_client, admin, tree, roles):
    manager = UserFactory(username="7000003")
    grant(manager, roles["data_manager"], tree[0])
    profile = Profile.objects.create(user=UserFactory(username="7000004"))
    body = {"profile_id": profile.id, "role_id": roles["reader_nomi"].id, "perimeter_id": 4}
    response = make_client(admin).post("/accesses/accesses/", body, format="json", HTTP_X_IMPERSONATE="7000003")
    assert response.status_code == 201
    assert response.json()["created_by"].endswith("(7000003)")
    log = RequestLog.objects.get(method="POST", path="/accesses/accesses/")
    assert (log.user_id, log.impersonated_by) == ("7000003", "7000001")


def test_impersonating_a_manager_applies_their_limits(make_client, admin, tree, roles):
    manager = UserFactory(username="7000005")
    grant(manager, roles["data_manager"], tree[0])
    profile = Profile.objects.create(user=UserFactory(username="7000006"))
    body = {"profile_id": profile.id, "role_id": roles["reader_nomi"].id, "perimeter_id": 1}
    response = make_client(admin).post("/accesses/accesses/", body, format="json", HTTP_X_IMPERSONATE="7000005")
    assert response.status_code == 403
    assert not profile.accesses.exists()
