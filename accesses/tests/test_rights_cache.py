"""With ENABLE_CACHE, no rights answer outlives a change of accesses, roles or perimeters."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from accesses.services import accesses as access_services
from accesses.services.user_rights import UserRights
from tests.factories import UserFactory, grant

RIGHTS_URL = "/accesses/perimeters/patient-data/rights/"


@pytest.fixture(autouse=True)
def cache_on(settings):
    settings.ENABLE_CACHE = True


def _read_ids(client) -> list[int]:
    data = client.get(RIGHTS_URL).json()
    return [item["perimeter"]["id"] for item in data.get("results", [])]


def test_a_new_access_shows_at_once(make_client, tree, roles):
    reader = UserFactory()
    grant(reader, roles["reader_nomi"], tree[4])
    client = make_client(reader)
    assert _read_ids(client) == [4]
    grant(reader, roles["reader_nomi"], tree[1])
    assert _read_ids(client) == [4, 1]  # by full path: APHP/P0/P4 before APHP/P1


def test_a_closed_access_disappears_at_once(make_client, tree, roles):
    reader = UserFactory()
    access = grant(reader, roles["reader_nomi"], tree[4])
    admin = UserFactory()
    grant(admin, roles["full_admin"], tree[9999])
    client = make_client(reader)
    assert _read_ids(client) == [4]
    access_services.close_access(rights=UserRights.of(admin), access=access)
    assert client.get(RIGHTS_URL).json() == {}


def test_a_role_change_shows_at_once(make_client, tree, roles):
    reader = UserFactory()
    grant(reader, roles["reader_pseudo"], tree[4])
    client = make_client(reader)
    assert client.get(RIGHTS_URL).json()["results"][0]["right_read_patient_nominative"] is False
    role = roles["reader_pseudo"]
    role.right_read_patient_nominative = True
    role.save()
    assert client.get(RIGHTS_URL).json()["results"][0]["right_read_patient_nominative"] is True


def test_an_access_ending_by_itself_is_not_served_from_the_cache(make_client, tree, roles):
    reader = UserFactory()
    access = grant(reader, roles["reader_nomi"], tree[4])
    access.end_datetime = timezone.now() + timedelta(seconds=2)
    access.save()
    client = make_client(reader)
    assert _read_ids(client) == [4]
    time.sleep(2.5)
    assert client.get(RIGHTS_URL).json() == {}
