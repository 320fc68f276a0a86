"""`/accesses/accesses/`: creation, date changes, closing, deletion, listings (spec 01 §11.2, §23.5)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accesses.models import Access, Profile
from admin_cohort.models import RequestLog
from tests.factories import UserFactory, grant

URL = "/accesses/accesses/"
APHP = 9999


@pytest.fixture
def manager(tree, roles):
    """A data-access manager (same + inferior levels, + manage users) on APHP."""
    user = UserFactory(username="5000001", firstname="Data", lastname="MANAGER")
    grant(user, roles["data_manager"], tree[APHP])
    return user


@pytest.fixture
def non_manager(tree, roles):
    user = UserFactory(username="5000002")
    grant(user, roles["reader_nomi_csv"], tree[APHP])
    return user


@pytest.fixture
def target_profile(db) -> Profile:
    return Profile.objects.create(user=UserFactory(username="5000003"))


@pytest.fixture
def body(target_profile, roles):
    return {"profile_id": target_profile.id, "role_id": roles["reader_nomi_ipp"].id, "perimeter_id": APHP}


def _iso(moment) -> str:
    return moment.isoformat()


def _access(profile, role, perimeter, *, start_days: float, end_days: float) -> Access:
    now = timezone.now()
    return Access.objects.create(
        profile=profile,
        role=role,
        perimeter=perimeter,
        start_datetime=now + timedelta(days=start_days),
        end_datetime=now + timedelta(days=end_days),
    )


# ------------------------------------------------------------------------------------------------ create
def test_create_with_both_dates(make_client, manager, body, target_profile):
    start, end = timezone.now() + timedelta(days=1), timezone.now() + timedelta(days=10)
    response = make_client(manager).post(
        URL, {**body, "start_datetime": _iso(start), "end_datetime": _iso(end)}, format="json"
    )
    assert response.status_code == 201, response.content
    data = response.json()
    assert "editable" not in data
    assert data["care_site"] == {}
    assert data["perimeter"]["care_site_id"] == APHP
    assert data["created_by"] == data["updated_by"] == "Data MANAGER (5000001)"
    access = Access.objects.get(pk=data["id"])
    assert (access.profile, access.source, access.created_by_id) == (target_profile, "Manual", "5000001")
    assert access.start_datetime == start and access.end_datetime == end


def test_create_with_only_a_start_lasts_the_default_validity(make_client, manager, body, settings):
    start = timezone.now() + timedelta(hours=1)
    response = make_client(manager).post(URL, {**body, "start_datetime": _iso(start)}, format="json")
    assert response.status_code == 201
    access = Access.objects.get(pk=response.json()["id"])
    assert access.end_datetime - access.start_datetime == timedelta(days=settings.DEFAULT_ACCESS_VALIDITY_IN_DAYS)


def test_create_without_dates_starts_now(make_client, manager, body):
    response = make_client(manager).post(URL, {**body, "start_datetime": "", "end_datetime": None}, format="json")
    assert response.status_code == 201
    access = Access.objects.get(pk=response.json()["id"])
    assert abs(access.start_datetime - timezone.now()) < timedelta(seconds=5)
    assert access.is_valid


def test_naive_dates_are_taken_as_utc(make_client, manager, body):
    response = make_client(manager).post(URL, {**body, "end_datetime": "2099-01-01T00:00:00"}, format="json")
    assert response.status_code == 201
    assert response.json()["end_datetime"].startswith("2099-01-01T00:00:00")


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        ({"start_datetime": -1}, {"error": "La date de début ne peut pas être dans le passé"}),
        ({"end_datetime": -1}, {"error": "La date de fin ne peut pas être dans le passé"}),
        (
            {"start_datetime": 5, "end_datetime": 2},
            {"error": "La date de fin ne peut pas précéder la date de début"},
        ),
    ],
    ids=["past start", "past end", "end before start"],
)
def test_create_with_bad_dates(make_client, manager, body, dates, expected):
    payload = {**body, **{key: _iso(timezone.now() + timedelta(days=days)) for key, days in dates.items()}}
    response = make_client(manager).post(URL, payload, format="json")
    assert (response.status_code, response.json()) == (400, expected)
    assert not Access.objects.filter(profile_id=body["profile_id"]).exists()


@pytest.mark.parametrize("value", ["tomorrow", "2025-13-45T00:00:00Z", 12, ["2030-01-01"]])
def test_create_with_unparsable_date(make_client, manager, body, value):
    response = make_client(manager).post(URL, {**body, "end_datetime": value}, format="json")
    assert response.status_code == 400
    assert "end_datetime" in response.json()
    assert not Access.objects.filter(profile_id=body["profile_id"]).exists()


@pytest.mark.parametrize("field", ["profile_id", "role_id", "perimeter_id"])
def test_create_with_a_missing_or_unknown_reference(make_client, manager, body, field):
    client = make_client(manager)
    missing = client.post(URL, {k: v for k, v in body.items() if k != field}, format="json")
    assert (missing.status_code, missing.json()) == (400, {field: ["This field is required."]})
    unknown = client.post(URL, {**body, field: 424242}, format="json")
    assert (unknown.status_code, unknown.json()) == (400, {field: ['Invalid pk "424242" - object does not exist.']})
    garbage = client.post(URL, {**body, field: "abc"}, format="json")
    assert garbage.status_code == 400
    assert not Access.objects.filter(profile_id=body["profile_id"]).exists()


def test_create_with_a_deleted_role_is_refused(make_client, manager, body, roles):
    roles["reader_nomi_ipp"].delete()
    response = make_client(manager).post(URL, body, format="json")
    assert response.status_code == 400
    assert "role_id" in response.json()


def test_create_by_a_non_manager_is_forbidden(make_client, non_manager, body):
    response = make_client(non_manager).post(URL, body, format="json")
    assert response.status_code == 403
    assert not Access.objects.filter(profile_id=body["profile_id"]).exists()


def test_create_anonymously_is_forbidden(anonymous, body):
    assert anonymous.post(URL, body, format="json").status_code == 403
    assert not Access.objects.filter(profile_id=body["profile_id"]).exists()


def test_creation_is_audited(make_client, manager, body):
    response = make_client(manager).post(URL, body, format="json")
    log = RequestLog.objects.get(method="POST", path=URL)
    assert (log.user_id, log.status_code) == ("5000001", 201)
    assert f'"id":{response.json()["id"]}' in log.response


# ------------------------------------------------------------------------------------------------- patch
@pytest.fixture
def current_access(target_profile, roles, tree) -> Access:
    return _access(target_profile, roles["reader_nomi_ipp"], tree[APHP], start_days=-1, end_days=10)


@pytest.fixture
def future_access(target_profile, roles, tree) -> Access:
    return _access(target_profile, roles["reader_nomi_ipp"], tree[APHP], start_days=2, end_days=10)


def _patch(client, access, payload, suffix=""):
    return client.patch(f"{URL}{access.id}/{suffix}", payload, format="json")


def test_patch_the_end_date(make_client, manager, current_access):
    end = timezone.now() + timedelta(days=20)
    response = _patch(make_client(manager), current_access, {"end_datetime": _iso(end)})
    assert response.status_code == 200
    current_access.refresh_from_db()
    assert current_access.end_datetime == end
    assert current_access.updated_by_id == "5000001"


def test_patch_both_dates_of_a_future_access(make_client, manager, future_access):
    start, end = timezone.now() + timedelta(days=3), timezone.now() + timedelta(days=4)
    response = _patch(make_client(manager), future_access, {"start_datetime": _iso(start), "end_datetime": _iso(end)})
    assert response.status_code == 200
    future_access.refresh_from_db()
    assert (future_access.start_datetime, future_access.end_datetime) == (start, end)


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({}, "No data was provided to update access"),
        ({"perimeter_id": 0}, "Only `start_datetime` and `end_datetime` can be updated"),
        ({"end_datetime": 20, "role_id": 1}, "Only `start_datetime` and `end_datetime` can be updated"),
        ({"start_datetime": 3, "end_datetime": None}, "Missing dates to updating access"),
        ({"end_datetime": -2}, "La date de fin ne peut pas être dans le passé"),
        ({"start_datetime": 5}, "La date de début ne peut pas être modifiée car elle est passée"),
        ({"start_datetime": 8, "end_datetime": 6}, "La date de début ne peut pas être modifiée car elle est passée"),
    ],
    ids=["empty", "perimeter", "role", "null date", "past end", "started", "swapped"],
)
def test_patch_a_current_access_refused(make_client, manager, current_access, payload, message):
    before = Access.objects.values().get(pk=current_access.pk)
    payload = {
        key: _iso(timezone.now() + timedelta(days=value)) if key.endswith("datetime") and value is not None else value
        for key, value in payload.items()
    }
    response = _patch(make_client(manager), current_access, payload)
    assert (response.status_code, response.json()) == (400, {"error": message})
    assert Access.objects.values().get(pk=current_access.pk) == before


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"start_datetime": 5, "end_datetime": 3}, "La date de fin ne peut pas précéder la date de début"),
        # The reference did not compare a lone end with the stored start.
        ({"end_datetime": 1}, "La date de fin ne peut pas précéder la date de début"),
        ({"start_datetime": 11}, "La date de fin ne peut pas précéder la date de début"),
        ({"start_datetime": -1}, "La date de début ne peut pas être dans le passé"),
    ],
    ids=["swapped", "end before stored start", "start after stored end", "past start"],
)
def test_patch_a_future_access_refused(make_client, manager, future_access, payload, message):
    before = Access.objects.values().get(pk=future_access.pk)
    payload = {key: _iso(timezone.now() + timedelta(days=value)) for key, value in payload.items()}
    response = _patch(make_client(manager), future_access, payload)
    assert (response.status_code, response.json()) == (400, {"error": message})
    assert Access.objects.values().get(pk=future_access.pk) == before


def test_patch_by_a_non_manager_is_forbidden(make_client, non_manager, current_access):
    end = timezone.now() + timedelta(days=20)
    response = _patch(make_client(non_manager), current_access, {"end_datetime": _iso(end)})
    assert response.status_code == 403
    current_access.refresh_from_db()
    assert current_access.end_datetime != end


def test_put_is_not_allowed(make_client, manager, current_access):
    response = make_client(manager).put(f"{URL}{current_access.id}/", {}, format="json")
    assert response.status_code == 405


def test_unknown_access_is_404(make_client, manager):
    client = make_client(manager)
    assert client.get(f"{URL}987654/").status_code == 404
    assert client.patch(f"{URL}987654/close/").status_code == 404
    assert client.get(f"{URL}abc/").status_code == 404


# ------------------------------------------------------------------------------------------------- close
def test_close_a_current_access(make_client, manager, current_access):
    response = _patch(make_client(manager), current_access, None, "close/")
    assert response.status_code == 200
    assert response.json()["is_valid"] is False
    current_access.refresh_from_db()
    assert not current_access.is_valid
    assert not Access.objects.valid_now().filter(pk=current_access.pk).exists()


@pytest.mark.parametrize(
    ("start_days", "end_days", "message"),
    [
        (2, 10, "L'accès ne peut pas être clôturé car n'a pas encore commencé"),
        (-10, -2, "L'accès est déjà clôturé"),
    ],
    ids=["future", "ended"],
)
def test_close_refused(make_client, manager, target_profile, roles, tree, start_days, end_days, message):
    access = _access(target_profile, roles["reader_nomi"], tree[APHP], start_days=start_days, end_days=end_days)
    before = Access.objects.values().get(pk=access.pk)
    response = _patch(make_client(manager), access, None, "close/")
    assert (response.status_code, response.json()) == (400, {"error": message})
    assert Access.objects.values().get(pk=access.pk) == before


def test_close_ignores_the_body(make_client, manager, current_access, roles, tree):
    response = _patch(
        make_client(manager),
        current_access,
        {"role_id": roles["full_admin"].id, "perimeter_id": 4, "start_datetime": "2000-01-01T00:00:00Z"},
        "close/",
    )
    assert response.status_code == 200
    current_access.refresh_from_db()
    assert (current_access.role, current_access.perimeter_id) == (roles["reader_nomi_ipp"], APHP)
    assert current_access.start_datetime > timezone.now() - timedelta(days=2)


# ------------------------------------------------------------------------------------------------ delete
def test_delete_a_future_access_soft_deletes_it(make_client, manager, future_access):
    response = make_client(manager).delete(f"{URL}{future_access.id}/")
    assert response.status_code == 204
    assert not Access.objects.filter(pk=future_access.pk).exists()
    assert Access.all_objects.get(pk=future_access.pk).delete_datetime is not None
    assert RequestLog.objects.filter(method="DELETE", status_code=204).exists()


def test_delete_a_started_access_is_refused(make_client, manager, current_access):
    response = make_client(manager).delete(f"{URL}{current_access.id}/")
    assert (response.status_code, response.json()) == (
        400,
        {"error": "L'accès est déjà activé, il ne peut plus être supprimé."},
    )
    assert Access.objects.filter(pk=current_access.pk).exists()


def test_delete_by_a_non_manager_is_forbidden(make_client, non_manager, future_access):
    assert make_client(non_manager).delete(f"{URL}{future_access.id}/").status_code == 403
    assert Access.objects.filter(pk=future_access.pk).exists()


# ------------------------------------------------------------------------------------------------ listing
def test_list_requires_an_access_manager(make_client, anonymous, manager, non_manager):
    assert anonymous.get(URL).status_code == 403
    assert make_client(non_manager).get(URL).status_code == 403
    response = make_client(manager).get(URL)
    assert response.status_code == 200
    assert set(response.json()) == {"count", "next", "previous", "results"}


def test_empty_page_keeps_the_envelope(make_client, manager, target_profile):
    response = make_client(manager).get(URL, {"profile_id": target_profile.id})
    assert response.json() == {"count": 0, "next": None, "previous": None, "results": []}


def test_list_by_profile_includes_past_and_future_accesses(
    make_client, manager, target_profile, current_access, future_access, roles, tree
):
    ended = _access(target_profile, roles["reader_nomi"], tree[0], start_days=-10, end_days=-1)
    response = make_client(manager).get(URL, {"profile_id": target_profile.id, "ordering": "-is_valid"})
    results = response.json()["results"]
    assert results[0]["id"] == current_access.id
    assert {item["id"] for item in results} == {current_access.id, future_access.id, ended.id}
    assert all(item["editable"] is True for item in results)


@pytest.mark.parametrize(
    ("ordering", "key"),
    [
        ("start_datetime", lambda a: a["start_datetime"]),
        ("-end_datetime", lambda a: a["end_datetime"]),
        ("role_name", lambda a: a["role"]["name"]),
        ("-perimeter_name", lambda a: a["perimeter"]["name"]),
    ],
)
def test_list_ordering(make_client, manager, target_profile, roles, tree, ordering, key):
    for index, (role, perimeter) in enumerate([("reader_nomi", 0), ("reader_pseudo", 4), ("jupyter_pseudo", 2)]):
        _access(target_profile, roles[role], tree[perimeter], start_days=-index - 1, end_days=index + 3)
    results = make_client(manager).get(URL, {"profile_id": target_profile.id, "ordering": ordering}).json()["results"]
    values = [key(item) for item in results]
    assert values == sorted(values, reverse=ordering.startswith("-"))


def test_list_search(make_client, manager, target_profile, roles, tree):
    _access(target_profile, roles["reader_nomi"], tree[4], start_days=-1, end_days=3)
    _access(target_profile, roles["reader_pseudo"], tree[2], start_days=-1, end_days=3)
    results = make_client(manager).get(URL, {"profile_id": target_profile.id, "search": "pseudo"}).json()["results"]
    assert [item["role"]["name"] for item in results] == ["reader_pseudo"]


def test_list_by_perimeter(make_client, target_profile, roles, tree):
    on_p2 = _access(target_profile, roles["reader_nomi"], tree[2], start_days=-1, end_days=3)
    on_aphp = _access(target_profile, roles["reader_nomi"], tree[APHP], start_days=-1, end_days=3)
    on_p10 = _access(target_profile, roles["reader_nomi"], tree[10], start_days=-1, end_days=3)
    _access(target_profile, roles["reader_nomi"], tree[2], start_days=-5, end_days=-1)  # ended: never listed
    _access(target_profile, roles["reader_nomi"], tree[1], start_days=-1, end_days=3)  # elsewhere
    full_admin = UserFactory()
    grant(full_admin, roles["full_admin"], tree[APHP])
    client = make_client(full_admin)

    def ids(**params):
        response = client.get(URL, {"perimeter_id": 2, **params})
        assert response.status_code == 200
        return {item["id"] for item in response.json()["results"] if item["profile"]["id"] == target_profile.id}

    assert ids(include_parents="false", include_children="false") == {on_p2.id}
    assert ids(include_parents="true") == {on_p2.id, on_aphp.id}
    assert ids(include_children="true") == {on_p2.id, on_p10.id}
    assert ids(include_parents="true", include_children="true") == {on_p2.id, on_aphp.id, on_p10.id}


def test_list_by_perimeter_and_profile_together(make_client, manager, target_profile, current_access, roles, tree):
    _access(target_profile, roles["reader_nomi"], tree[2], start_days=-1, end_days=3)
    response = make_client(manager).get(URL, {"perimeter_id": APHP, "profile_id": target_profile.id})
    assert [item["id"] for item in response.json()["results"]] == [current_access.id]


@pytest.mark.parametrize(
    "params",
    [
        {"include_parents": "yes", "perimeter_id": 2},
        {"include_children": "1", "perimeter_id": 2},
        {"perimeter_id": "abc"},
        {"profile_id": "abc"},
        {"start_datetime": "yesterday"},
    ],
)
def test_list_bad_parameters(make_client, manager, params):
    assert make_client(manager).get(URL, params).status_code == 400


def test_unknown_perimeter_gives_an_empty_page(make_client, manager):
    response = make_client(manager).get(URL, {"perimeter_id": 123456789})
    assert (response.status_code, response.json()["count"]) == (200, 0)


def test_a_unit_manager_does_not_see_accesses_of_other_branches(make_client, roles, tree, target_profile):
    unit_manager = UserFactory()
    grant(unit_manager, roles["data_manager"], tree[4])
    on_p12 = _access(target_profile, roles["reader_nomi"], tree[12], start_days=-1, end_days=3)
    on_p0 = _access(target_profile, roles["reader_nomi"], tree[0], start_days=-1, end_days=3)
    on_p8 = _access(target_profile, roles["reader_nomi"], tree[8], start_days=-1, end_days=3)
    client = make_client(unit_manager)
    listed = {item["id"] for item in client.get(URL, {"profile_id": target_profile.id}).json()["results"]}
    assert listed == {on_p12.id, on_p0.id}  # below and above the managed perimeter, not beside it
    assert client.get(f"{URL}{on_p8.id}/").status_code == 404


def test_retrieve_requires_managing_the_access(make_client, roles, tree, target_profile):
    unit_manager = UserFactory()
    grant(unit_manager, roles["data_manager"], tree[4])
    below = _access(target_profile, roles["reader_nomi"], tree[12], start_days=-1, end_days=3)
    above = _access(target_profile, roles["reader_nomi"], tree[0], start_days=-1, end_days=3)
    client = make_client(unit_manager)
    assert client.get(f"{URL}{below.id}/").status_code == 200
    assert client.get(f"{URL}{above.id}/").status_code == 403
    assert "editable" not in client.get(f"{URL}{below.id}/").json()


def test_list_query_count_does_not_grow_with_rows(
    make_client, manager, target_profile, roles, tree, django_assert_max_num_queries
):
    client = make_client(manager)
    for perimeter in (0, 1, 2, 3, 4):
        _access(target_profile, roles["reader_nomi"], tree[perimeter], start_days=-1, end_days=3)
    with django_assert_max_num_queries(10) as few:
        client.get(URL, {"profile_id": target_profile.id})
    for perimeter in (5, 6, 7, 8, 9, 10, 11, 12, 13, 14):
        _access(target_profile, roles["reader_pseudo"], tree[perimeter], start_days=-1, end_days=3)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL, {"profile_id": target_profile.id})
    assert response.json()["count"] == 15


# ------------------------------------------------------------------------------------------- my accesses
def test_my_accesses_lists_valid_accesses_only(make_client, roles, tree):
    user = UserFactory()
    valid = grant(user, roles["reader_nomi"], tree[0])
    expired = grant(user, roles["reader_pseudo"], tree[1])
    expired.end_datetime = timezone.now() - timedelta(minutes=1)
    expired.save()
    response = make_client(user).get(f"{URL}my-accesses/")
    assert response.status_code == 200
    data = response.json()
    assert [item["id"] for item in data] == [valid.id]
    assert data[0]["role"]["right_read_patient_nominative"] is True
    assert "editable" not in data[0]


def test_my_accesses_expiring(make_client, roles, tree, settings):
    settings.ACCESS_EXPIRY_FIRST_ALERT_IN_DAYS = 30
    user = UserFactory(firstname="Jane", lastname="DOE", username="5000009")
    soon = grant(user, roles["reader_nomi"], tree[0], days=5)
    grant(user, roles["reader_pseudo"], tree[0], days=20)  # same perimeter, ends later
    grant(user, roles["reader_pseudo"], tree[1], days=60)
    client = make_client(user)
    expiring = client.get(f"{URL}my-accesses/", {"expiring": "true"}).json()
    assert expiring == [
        {
            "start_datetime": soon.start_datetime.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "end_datetime": soon.end_datetime.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "profile": "Jane DOE (5000009)",
            "perimeter": "P0",
        }
    ]
    everything = client.get(f"{URL}my-accesses/", {"expiring": "false"}).json()
    assert len(everything) == 3 and set(everything[0]) == {"start_datetime", "end_datetime", "profile", "perimeter"}
    assert client.get(f"{URL}my-accesses/", {"expiring": "maybe"}).status_code == 400


def test_my_accesses_expiring_none(make_client, roles, tree, settings):
    settings.ACCESS_EXPIRY_FIRST_ALERT_IN_DAYS = 30
    user = UserFactory()
    grant(user, roles["reader_nomi"], tree[0], days=90)
    response = make_client(user).get(f"{URL}my-accesses/", {"expiring": "true"})
    assert (response.status_code, response.json()) == (200, {"message": "No accesses to expire in the next 30 days"})


def test_my_endpoints_need_authentication(anonymous):
    assert anonymous.get(f"{URL}my-accesses/").status_code == 403
    assert anonymous.get(f"{URL}my-data-rights/").status_code == 403


def test_my_data_rights_with_bad_ids(make_client, user):
    response = make_client(user).get(f"{URL}my-data-rights/", {"perimeters_ids": "a,b"})
    assert (response.status_code, response.json()) == (400, "`perimeters_ids` must be integers, got `a,b` instead")
