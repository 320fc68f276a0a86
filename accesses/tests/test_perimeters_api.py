"""Perimeters API (spec 01 §8.1, §10.3, §10.5, §11.5; client contract §1.4, PER-1..PER-7).

Reference tree (accesses/tests/conftest.py):
APHP[9999] ── P0[0] ── P3, P4 ── {P11, P12}, P5 ; P1[1] ── P6, P7 ; P2[2] ── P8, P9, P10 ── {P13, P14}
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accesses.models import Perimeter
from accesses.tests.conftest import APHP, TREE_PARENTS, build_tree
from tests.factories import UserFactory, grant

pytestmark = pytest.mark.django_db

PERIMETERS = "/accesses/perimeters/"
FULL_KEYS = {
    "id",
    "parent_id",
    "care_site_id",
    "care_site_name",
    "care_site_source_value",
    "care_site_short_name",
    "care_site_type_source_value",
    "type",
    "names",
    "insert_datetime",
    "update_datetime",
    "delete_datetime",
    "local_id",
    "name",
    "source_value",
    "short_name",
    "type_source_value",
    "above_levels_ids",
    "inferior_levels_ids",
    "cohort_id",
    "full_path",
    "cohort_size",
    "level",
    "count_allowed_users",
    "count_allowed_users_inferior_levels",
    "count_allowed_users_above_levels",
}
LITE_KEYS = {
    "id",
    "name",
    "source_value",
    "parent_id",
    "type",
    "above_levels_ids",
    "inferior_levels_ids",
    "cohort_id",
    "cohort_size",
    "full_path",
}
READ_ITEM_KEYS = {
    "perimeter",
    "read_role",
    "right_read_patient_nominative",
    "right_read_patient_pseudonymized",
    "right_search_patients_by_ipp",
    "right_read_opposed_patients_data",
}
ALL_IDS = set(TREE_PARENTS)


def ids(response) -> list[int]:
    body = response.json()
    items = body["results"] if isinstance(body, dict) else body
    return [item["perimeter"]["id"] if "perimeter" in item else item["id"] for item in items]


def id_set(text: str | None) -> set[int]:
    return {int(part) for part in (text or "").split(",") if part}


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture
def reader(roles, tree):
    user = UserFactory(username="reader001")
    grant(user, roles["reader_nomi"], tree[APHP])
    return user


@pytest.fixture
def reader_client(make_client, reader):
    return make_client(reader)


@pytest.fixture
def admin_manager(roles, tree):
    user = UserFactory(username="amanager1")
    grant(user, roles["admin_manager"], tree[APHP])
    return user


@pytest.fixture
def full_admin_client(make_client, roles, tree):
    user = UserFactory(username="admin0001")
    grant(user, roles["full_admin"], tree[APHP])
    return make_client(user)


def extend_tree(extra: dict[int, int]) -> None:
    """Adds perimeters to the reference tree as the loader would (stored ancestry, children, closure)."""
    build_tree({**TREE_PARENTS, **extra})


def extra_perimeters(count: int) -> dict[int, int]:
    """`count` new perimeters (ids from 100): the first ones under every reference node, the rest deeper."""
    reference = sorted(TREE_PARENTS)
    extra: dict[int, int] = {}
    for index in range(count):
        node = 100 + index
        if index < 3 * len(reference):
            extra[node] = reference[index % len(reference)]
        else:
            extra[node] = 100 + (index - 3 * len(reference)) // 4
    return extra


# ---------------------------------------------------------------------------------------------------- list
class TestList:
    def test_full_representation(self, reader_client):
        response = reader_client.get(f"{PERIMETERS}?limit=-1")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 16
        for item in body["results"]:
            assert set(item) == FULL_KEYS
        p4 = next(item for item in body["results"] if item["id"] == 4)
        assert p4["parent_id"] == "0"  # a string, unlike the integer ids
        assert p4["care_site_id"] == 4
        assert p4["care_site_name"] == p4["name"] == "P4"
        assert p4["care_site_source_value"] == p4["source_value"] == "P4"
        assert p4["care_site_short_name"] == p4["short_name"] == "P4"
        assert p4["care_site_type_source_value"] == p4["type_source_value"] == p4["type"] == "Hôpital"
        assert p4["names"] == {"name": "P4", "short": "P4", "source_value": "P4"}
        assert p4["local_id"] == "4"
        assert id_set(p4["above_levels_ids"]) == {0, APHP}
        assert id_set(p4["inferior_levels_ids"]) == {11, 12}
        assert p4["cohort_id"] == "1004"
        assert p4["cohort_size"] == "100"
        assert p4["full_path"] == "APHP/P0/P4"
        assert p4["level"] == 3
        assert p4["delete_datetime"] is None
        assert p4["count_allowed_users"] == 0
        assert p4["count_allowed_users_inferior_levels"] == 0
        assert p4["count_allowed_users_above_levels"] == 0
        root = next(item for item in body["results"] if item["id"] == APHP)
        assert root["parent_id"] is None
        assert root["type"] == "AP-HP"
        assert root["level"] == 1

    def test_any_authenticated_user_may_list(self, make_client, tree):
        response = make_client(UserFactory()).get(PERIMETERS)
        assert response.status_code == 200
        assert response.json()["count"] == 16

    @pytest.mark.parametrize(
        "query, expected",
        [
            ("type_source_value=AP-HP", {APHP}),
            ("type_source_value=AP-HP,Hôpital", ALL_IDS),
            ("type_source_value=Hôpital,Unknown", ALL_IDS - {APHP}),
            ("type_source_value=hôpital", set()),  # exact match
            ("local_id=1,5", {1, 5}),
            ("local_id=11", {11}),
            ("cohort_id=1003,1012", {3, 12}),
            ("cohort_id=10999", {APHP}),
            ("parent_id=4", {11, 12}),
            ("parent_id=4,10", {11, 12, 13, 14}),
            ("name=p1", {1, 10, 11, 12, 13, 14}),  # case-insensitive contains
            ("source_value=P1", {1, 10, 11, 12, 13, 14}),
            ("search=p1", {1, 10, 11, 12, 13, 14}),
            ("search=ap-hp", {APHP}),  # in the type
            ("search=hôpital", ALL_IDS - {APHP}),
            ("type_source_value=Hôpital&local_id=11,12,9999", {11, 12}),
            ("limit=-1&cohort_id=1008,1009", {8, 9}),
        ],
    )
    def test_filters(self, reader_client, query, expected):
        response = reader_client.get(f"{PERIMETERS}?{query}&limit=-1")
        assert response.status_code == 200
        assert set(ids(response)) == expected
        assert response.json()["count"] == len(expected)

    def test_bad_parent_id_is_a_400(self, reader_client):
        assert reader_client.get(f"{PERIMETERS}?parent_id=abc").status_code == 400

    def test_ordering_by_care_site_name(self, reader_client):
        response = reader_client.get(f"{PERIMETERS}?ordering=care_site_name&parent_id=2,10&limit=-1")
        assert response.status_code == 200
        assert ids(response) == [10, 13, 14, 8, 9]  # P10, P13, P14, P8, P9
        response = reader_client.get(f"{PERIMETERS}?ordering=-care_site_name&parent_id=2,10&limit=-1")
        assert ids(response) == [9, 8, 14, 13, 10]

    def test_ordering_by_type(self, reader_client):
        response = reader_client.get(f"{PERIMETERS}?ordering=care_site_type_source_value&limit=-1")
        assert ids(response)[0] == APHP
        response = reader_client.get(f"{PERIMETERS}?ordering=-care_site_type_source_value&limit=-1")
        assert ids(response)[-1] == APHP

    def test_soft_deleted_perimeters_are_hidden(self, reader_client, tree):
        tree[5].delete()
        response = reader_client.get(f"{PERIMETERS}?limit=-1")
        assert 5 not in ids(response)
        assert response.json()["count"] == 15
        assert reader_client.get(f"{PERIMETERS}5/").status_code == 404
        assert reader_client.get(f"{PERIMETERS}?local_id=5").json()["count"] == 0


class TestPagination:
    @pytest.fixture
    def big_tree(self, tree):
        extend_tree(extra_perimeters(40))

    def test_default_limit_is_20(self, reader_client, big_tree):
        body = reader_client.get(PERIMETERS).json()
        assert body["count"] == 56
        assert len(body["results"]) == 20
        assert body["next"] is not None
        assert body["previous"] is None

    def test_negative_limit_returns_everything(self, reader_client, big_tree):
        body = reader_client.get(f"{PERIMETERS}?limit=-1").json()
        assert body["count"] == 56
        assert len(body["results"]) == 56
        assert body["next"] is None
        assert {item["id"] for item in body["results"]} == ALL_IDS | set(range(100, 140))

    @pytest.mark.parametrize("limit", ["0", "abc", "", "1.5"])
    def test_zero_or_garbage_limit_falls_back_to_20(self, reader_client, big_tree, limit):
        response = reader_client.get(f"{PERIMETERS}?limit={limit}")
        assert response.status_code == 200
        assert len(response.json()["results"]) == 20

    def test_explicit_limit_above_20(self, reader_client, big_tree):
        assert len(reader_client.get(f"{PERIMETERS}?limit=50").json()["results"]) == 50

    def test_no_page_holds_more_than_the_maximum(self, reader_client, big_tree, settings):
        settings.PAGINATION_MAX_LIMIT = 25
        for limit in ("-1", "26", "99999999999999999999999"):
            body = reader_client.get(f"{PERIMETERS}?limit={limit}").json()
            assert (body["count"], len(body["results"])) == (56, 25)
            assert dict(parse_qsl(urlsplit(body["next"]).query)) == {"limit": "25", "offset": "25"}

    def test_offset_pages_do_not_overlap(self, reader_client, big_tree):
        first = ids(reader_client.get(f"{PERIMETERS}?limit=30"))
        second = ids(reader_client.get(f"{PERIMETERS}?limit=30&offset=30"))
        assert len(first) == 30 and len(second) == 26
        assert not set(first) & set(second)
        assert set(first) | set(second) == ALL_IDS | set(range(100, 140))

    def test_next_link_has_sorted_query_keys(self, reader_client, big_tree):
        # the clients percent-encode their query strings
        body = reader_client.get(PERIMETERS, {"type_source_value": "Hôpital", "search": "P", "limit": 5}).json()
        query = parse_qsl(urlsplit(body["next"]).query)
        keys = [key for key, _ in query]
        assert keys == sorted(keys) == ["limit", "offset", "search", "type_source_value"]
        assert dict(query) == {"limit": "5", "offset": "5", "search": "P", "type_source_value": "Hôpital"}
        previous = reader_client.get(PERIMETERS, {"type_source_value": "Hôpital", "limit": 5, "offset": 10}).json()[
            "previous"
        ]
        keys = [key for key, _ in parse_qsl(urlsplit(previous).query)]
        assert keys == sorted(keys)


# ------------------------------------------------------------------------------------------------ retrieve
class TestRetrieve:
    def test_retrieve_with_care_site_aliases(self, reader_client):
        response = reader_client.get(f"{PERIMETERS}10/")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == FULL_KEYS
        assert body["id"] == body["care_site_id"] == 10
        assert body["care_site_source_value"] == "P10"
        assert body["care_site_name"] == "P10"
        assert body["cohort_size"] == "100"
        assert body["parent_id"] == "2"
        assert body["full_path"] == "APHP/P2/P10"

    @pytest.mark.parametrize(
        "path", ["123456/", "abc/", "-1/", "4a/", "1.5/", "abc/children/", "0/children/abc/", "123456/children/4/"]
    )
    def test_unknown_or_non_digit_id_is_a_404(self, reader_client, path):
        assert reader_client.get(f"{PERIMETERS}{path}").status_code == 404


# ------------------------------------------------------------------------------------------------ children
class TestChildren:
    def test_children_with_nested_names(self, reader_client):
        response = reader_client.get(f"{PERIMETERS}0/children/")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 3
        assert sorted(ids(response)) == [3, 4, 5]
        for item in body["results"]:
            assert set(item) == FULL_KEYS
            assert item["names"] == {"name": item["name"], "short": item["short_name"], "source_value": item["name"]}
            assert item["parent_id"] == "0"

    def test_children_of_the_root(self, reader_client):
        assert sorted(ids(reader_client.get(f"{PERIMETERS}{APHP}/children/"))) == [0, 1, 2]

    def test_children_of_a_leaf(self, reader_client):
        body = reader_client.get(f"{PERIMETERS}13/children/").json()
        assert body["count"] == 0 and body["results"] == []

    def test_children_are_filtered(self, reader_client):
        response = reader_client.get(f"{PERIMETERS}2/children/?name=P1&limit=-1")
        assert ids(response) == [10]
        response = reader_client.get(f"{PERIMETERS}2/children/?ordering=-care_site_name")
        assert ids(response) == [9, 8, 10]

    def test_child_retrieve(self, reader_client):
        response = reader_client.get(f"{PERIMETERS}0/children/4/")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == FULL_KEYS
        assert body["id"] == 4
        assert body["names"] == {"name": "P4", "short": "P4", "source_value": "P4"}

    @pytest.mark.parametrize("path", ["0/children/11/", "1/children/4/", "4/children/0/", "0/children/123456/"])
    def test_a_perimeter_that_is_not_a_child_is_a_404(self, reader_client, path):
        assert reader_client.get(f"{PERIMETERS}{path}").status_code == 404

    def test_soft_deleted_children_are_hidden(self, reader_client, tree):
        tree[5].delete()
        response = reader_client.get(f"{PERIMETERS}0/children/")
        assert sorted(ids(response)) == [3, 4]
        assert response.json()["count"] == 2
        assert reader_client.get(f"{PERIMETERS}0/children/5/").status_code == 404

    def test_children_pagination(self, reader_client, tree):
        extend_tree({200 + index: 1 for index in range(25)})
        body = reader_client.get(f"{PERIMETERS}1/children/").json()
        assert body["count"] == 27
        assert len(body["results"]) == 20
        assert len(reader_client.get(f"{PERIMETERS}1/children/?limit=-1").json()["results"]) == 27


# ---------------------------------------------------------------------------------------- refused methods
class TestRefused:
    ROUTES = [
        "",
        "?limit=-1",
        "4/",
        "0/children/",
        "0/children/4/",
        "manageable/",
        "manageable/?search=P1",
        "patient-data/rights/",
        "patient-data/read/?cohort_ids=1001&mode=max",
    ]

    @pytest.mark.parametrize("route", ROUTES)
    def test_anonymous_is_refused_everywhere(self, anonymous, tree, route):
        response = anonymous.get(f"{PERIMETERS}{route}")
        assert response.status_code == 403

    def test_write_methods_are_refused(self, full_admin_client, reader_client, tree):
        payload = {"id": 777, "local_id": "777", "name": "New", "parent_id": APHP}
        for client in (full_admin_client, reader_client):
            assert client.post(PERIMETERS, payload, format="json").status_code in (403, 405)
            assert client.patch(f"{PERIMETERS}4/", {"name": "Renamed"}, format="json").status_code in (403, 405)
            assert client.delete(f"{PERIMETERS}4/").status_code in (403, 405)
            assert client.put(f"{PERIMETERS}4/", payload, format="json").status_code == 405
            assert client.post(f"{PERIMETERS}0/children/", payload, format="json").status_code in (403, 405)
        assert not Perimeter.all_objects.filter(pk=777).exists()
        p4 = Perimeter.all_objects.get(pk=4)
        assert p4.name == "P4" and p4.delete_datetime is None

    @pytest.mark.parametrize("method", ["post", "patch", "put", "delete"])
    def test_anonymous_writes_are_refused(self, anonymous, tree, method):
        assert getattr(anonymous, method)(f"{PERIMETERS}4/", {}, format="json").status_code == 403


# ----------------------------------------------------------------------------------------------- manageable
class TestManageable:
    def test_without_parameters_the_tops_only(self, make_client, roles, tree):
        user = UserFactory()
        grant(user, roles["admin_manager"], tree[2])
        response = make_client(user).get(f"{PERIMETERS}manageable/")
        assert response.status_code == 200
        body = response.json()
        assert isinstance(body, list)
        assert [item["id"] for item in body] == [2]
        assert set(body[0]) == LITE_KEYS
        assert body[0]["parent_id"] == str(APHP)
        assert body[0]["type"] == "Hôpital"
        assert body[0]["full_path"] == "APHP/P2"

    def test_search_gives_the_filtered_sub_tree(self, make_client, roles, tree):
        user = UserFactory()
        grant(user, roles["admin_manager"], tree[2])
        response = make_client(user).get(f"{PERIMETERS}manageable/?search=P1")
        assert response.status_code == 200
        body = response.json()
        assert isinstance(body, list)
        assert [item["id"] for item in body] == [10, 13, 14]  # under P2 only, P1 and P11/P12 are not managed
        for item in body:
            assert set(item) == LITE_KEYS
        assert body[0] == {
            "id": 10,
            "name": "P10",
            "source_value": "P10",
            "parent_id": "2",
            "type": "Hôpital",
            "above_levels_ids": body[0]["above_levels_ids"],
            "inferior_levels_ids": body[0]["inferior_levels_ids"],
            "cohort_id": "1010",
            "cohort_size": "100",
            "full_path": "APHP/P2/P10",
        }
        assert id_set(body[0]["above_levels_ids"]) == {2, APHP}
        assert id_set(body[0]["inferior_levels_ids"]) == {13, 14}

    def test_search_for_a_manager_of_the_root(self, make_client, admin_manager):
        response = make_client(admin_manager).get(f"{PERIMETERS}manageable/?search=P1")
        assert sorted(item["id"] for item in response.json()) == [1, 10, 11, 12, 13, 14]
        response = make_client(admin_manager).get(f"{PERIMETERS}manageable/")
        assert [item["id"] for item in response.json()] == [APHP]

    def test_inferior_only_manager_gets_the_children(self, make_client, roles, tree):
        user = UserFactory()
        grant(user, roles["data_manager_inf"], tree[0])
        response = make_client(user).get(f"{PERIMETERS}manageable/")
        assert sorted(item["id"] for item in response.json()) == [3, 4, 5]
        response = make_client(user).get(f"{PERIMETERS}manageable/?search=P1")
        assert sorted(item["id"] for item in response.json()) == [11, 12]

    def test_worked_example_d(self, make_client, roles, tree):
        user = UserFactory()
        grant(user, roles["data_manager_inf"], tree[0])
        grant(user, roles["admin_manager"], tree[1])
        grant(user, roles["admin_manager_same"], tree[8])
        grant(user, roles["data_manager_inf"], tree[10])
        response = make_client(user).get(f"{PERIMETERS}manageable/")
        assert sorted(item["id"] for item in response.json()) == [1, 3, 4, 5, 8, 13, 14]

    def test_full_admin_manages_the_root(self, full_admin_client):
        assert [item["id"] for item in full_admin_client.get(f"{PERIMETERS}manageable/").json()] == [APHP]

    def test_type_filter_on_the_expanded_sub_tree(self, make_client, roles, tree):
        user = UserFactory()
        grant(user, roles["admin_manager"], tree[1])
        response = make_client(user).get(f"{PERIMETERS}manageable/?local_id=6,7,8")
        assert sorted(item["id"] for item in response.json()) == [6, 7]


# ---------------------------------------------------------------------------------------------- read rights
class TestReadRights:
    @pytest.fixture
    def pseudo_p0_nomi_p4(self, make_client, roles, tree):
        user = UserFactory()
        grant(user, roles["reader_pseudo"], tree[0])
        grant(user, roles["reader_nomi"], tree[4])
        return make_client(user)

    def test_expanded_readable_sub_tree(self, pseudo_p0_nomi_p4):
        response = pseudo_p0_nomi_p4.get(f"{PERIMETERS}patient-data/rights/?limit=-1&type_source_value=Hôpital")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 6
        assert ids(response) == [0, 3, 4, 11, 12, 5]  # by full_path
        by_id = {item["perimeter"]["id"]: item for item in body["results"]}
        for item in body["results"]:
            assert set(item) == READ_ITEM_KEYS
            assert set(item["perimeter"]) == LITE_KEYS
            assert item["right_search_patients_by_ipp"] is False
            assert item["right_read_opposed_patients_data"] is False
        for pid in (0, 3, 5):
            assert by_id[pid]["read_role"] == "READ_PATIENT_PSEUDO_ANONYMIZE"
            assert by_id[pid]["right_read_patient_nominative"] is False
            assert by_id[pid]["right_read_patient_pseudonymized"] is True
        for pid in (4, 11, 12):
            assert by_id[pid]["read_role"] == "READ_PATIENT_NOMINATIVE"
            assert by_id[pid]["right_read_patient_nominative"] is True
            assert by_id[pid]["right_read_patient_pseudonymized"] is True
        assert by_id[4]["perimeter"]["parent_id"] == "0"
        assert by_id[4]["perimeter"]["full_path"] == "APHP/P0/P4"

    def test_without_parameters_the_top_readable_perimeters(self, pseudo_p0_nomi_p4):
        response = pseudo_p0_nomi_p4.get(f"{PERIMETERS}patient-data/rights/")
        assert response.status_code == 200
        assert ids(response) == [0, 4]

    def test_filter_outside_the_readable_tree_gives_an_empty_object(self, pseudo_p0_nomi_p4):
        response = pseudo_p0_nomi_p4.get(f"{PERIMETERS}patient-data/rights/?limit=-1&type_source_value=AP-HP")
        assert response.status_code == 200
        assert response.json() == {}

    def test_local_id_filter(self, pseudo_p0_nomi_p4):
        response = pseudo_p0_nomi_p4.get(f"{PERIMETERS}patient-data/rights/?limit=-1&local_id=11,12,5,8")
        assert ids(response) == [11, 12, 5]

    def test_user_without_reading_rights_gets_an_empty_object(self, make_client, admin_manager):
        response = make_client(admin_manager).get(f"{PERIMETERS}patient-data/rights/?limit=-1")
        assert response.status_code == 200
        assert response.json() == {}

    def test_worked_example_g(self, make_client, roles, tree):
        user = UserFactory()
        grant(user, roles["reader_pseudo"], tree[0])
        grant(user, roles["full_access_reader"], tree[1])
        grant(user, roles["reader_nomi_pseudo"], tree[2])
        grant(user, roles["reader_nomi"], tree[4])
        grant(user, roles["reader_pseudo"], tree[10])
        client = make_client(user)
        response = client.get(f"{PERIMETERS}patient-data/rights/")
        items = {item["perimeter"]["id"]: item for item in response.json()["results"]}
        assert set(items) == {0, 1, 2, 4}
        assert items[0]["read_role"] == "READ_PATIENT_PSEUDO_ANONYMIZE"
        for pid in (1, 2, 4):
            assert items[pid]["read_role"] == "READ_PATIENT_NOMINATIVE"
        for item in items.values():
            assert item["right_search_patients_by_ipp"] is True
            assert item["right_read_opposed_patients_data"] is True
        response = client.get(f"{PERIMETERS}patient-data/rights/?local_id=1,5,9")
        items = {item["perimeter"]["id"]: item for item in response.json()["results"]}
        assert set(items) == {1, 5, 9}
        assert items[5]["read_role"] == "READ_PATIENT_PSEUDO_ANONYMIZE"
        assert items[1]["read_role"] == items[9]["read_role"] == "READ_PATIENT_NOMINATIVE"

    def test_pagination(self, reader_client):
        body = reader_client.get(f"{PERIMETERS}patient-data/rights/?limit=5&type_source_value=Hôpital").json()
        assert body["count"] == 15
        assert len(body["results"]) == 5
        keys = [key for key, _ in parse_qsl(urlsplit(body["next"]).query)]
        assert keys == sorted(keys)


# -------------------------------------------------------------------------------------------- query counts
def count_queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as context:
        response = client.get(url)
    assert response.status_code == 200, response.content
    return len(context.captured_queries)


MAX_QUERIES = 8
COUNTED_ROUTES = [
    ("list", "admin_manager", f"{PERIMETERS}?limit=-1"),
    ("list filtered", "admin_manager", f"{PERIMETERS}?limit=-1&type_source_value=Hôpital&search=P"),
    ("children", "admin_manager", f"{PERIMETERS}{APHP}/children/?limit=-1"),
    ("manageable", "admin_manager", f"{PERIMETERS}manageable/"),
    ("manageable expanded", "admin_manager", f"{PERIMETERS}manageable/?search=P"),
    ("manageable inferior only", "inf_manager", f"{PERIMETERS}manageable/?search=P"),
    ("patient-data rights", "reader", f"{PERIMETERS}patient-data/rights/?limit=-1&type_source_value=Hôpital"),
    ("patient-data rights tops", "reader", f"{PERIMETERS}patient-data/rights/"),
    ("patient-data rights mixed", "mixed_reader", f"{PERIMETERS}patient-data/rights/?limit=-1"),
]


class TestQueryCounts:
    @pytest.fixture
    def clients(self, make_client, roles, tree):
        def user_with(*grants):
            user = UserFactory()
            for archetype, perimeter_id in grants:
                grant(user, roles[archetype], tree[perimeter_id])
            return make_client(user)

        return {
            "admin_manager": user_with(("admin_manager", APHP)),
            "inf_manager": user_with(("data_manager_inf", 0), ("admin_manager_inf", 2), ("data_manager", 1)),
            "reader": user_with(("reader_nomi", APHP)),
            "mixed_reader": user_with(("reader_pseudo", APHP), ("reader_nomi", 0), ("reader_nomi_ipp", 10)),
        }

    @pytest.mark.parametrize("label, who, url", COUNTED_ROUTES, ids=[route[0] for route in COUNTED_ROUTES])
    def test_query_count_is_bounded_and_does_not_grow_with_the_tree(
        self, clients, django_assert_max_num_queries, label, who, url
    ):
        client = clients[who]
        with django_assert_max_num_queries(MAX_QUERIES):
            small = count_queries(client, url)
        extend_tree(extra_perimeters(300))
        with django_assert_max_num_queries(MAX_QUERIES):
            big = count_queries(client, url)
        assert big == small, f"{label}: {small} queries with 16 perimeters, {big} with 316"
        # the big answers do cover the extra perimeters (except those listing only the tops)
        if label not in ("manageable", "patient-data rights tops"):
            assert max(ids(client.get(url))) >= 100


def test_expired_access_gives_no_manageable_perimeter(make_client, roles, tree):
    user = UserFactory()
    access = grant(user, roles["admin_manager"], tree[2])
    access.end_datetime = timezone.now() - timezone.timedelta(minutes=1)
    access.save()
    response = make_client(user).get(f"{PERIMETERS}manageable/")
    assert response.status_code == 200
    assert response.json() == []
