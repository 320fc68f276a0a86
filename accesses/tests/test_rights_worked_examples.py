"""The worked examples of spec 01 §10 (A-H), played through the HTTP endpoints of §11 as a client would.

Every table row of the spec is one parametrized case, named after its example. Perimeters are those of
the reference tree (`tree` fixture: APHP = 9999, P0..P14 = 0..14; the cohort id of PN is str(1000 + N)),
roles are the archetypes of the `roles` fixture.
"""

from __future__ import annotations

import pytest

from accesses.models import Access, Profile
from accesses.tests.conftest import APHP
from tests.factories import RoleFactory, UserFactory, grant

pytestmark = pytest.mark.django_db

Grants = tuple[tuple[str, int], ...]  # (role name, perimeter id) pairs


def holder(tree, roles, grants: Grants):
    """A new user holding a valid access for each (role name, perimeter id) pair."""
    user = UserFactory()
    Profile.objects.get_or_create(user=user, source="Manual")
    for role_name, perimeter_id in grants:
        grant(user, roles[role_name], tree[perimeter_id])
    return user


def cohort(*perimeter_ids: int) -> str:
    return ",".join(str(1000 + pid) for pid in perimeter_ids)


ALL_ROLES = {
    "admin_manager", "admin_manager_same", "admin_manager_inf",
    "data_manager", "data_manager_same", "data_manager_inf",
    "reader_nomi", "reader_pseudo", "reader_nomi_pseudo", "reader_nomi_ipp", "reader_nomi_csv",
    "jupyter_pseudo", "full_access_reader", "full_admin",
}  # fmt: skip

PERIMETER_LITE_KEYS = {
    "id", "name", "source_value", "parent_id", "type", "above_levels_ids", "inferior_levels_ids",
    "cohort_id", "cohort_size", "full_path",
}  # fmt: skip


# ------------------------------------------------------------------------------------------------------
# Example A (§10.2): listing user X's accesses by profile, `editable` per access
# ------------------------------------------------------------------------------------------------------
X_ACCESSES: Grants = (("reader_nomi_pseudo", 1), ("admin_manager", 4), ("data_manager", 10))

EXAMPLE_A = [
    # caller role on APHP, expected {perimeter of X's access: editable} (None: the listing is refused)
    pytest.param("full_admin", {1: True, 4: True, 10: True}, id="A-full-admin"),
    pytest.param("admin_manager", {1: True, 4: False, 10: True}, id="A-admin-manager"),
    pytest.param("data_manager", {1: True, 4: False, 10: False}, id="A-data-manager"),
    pytest.param("reader_nomi_pseudo", None, id="A-data-reader-403"),
]


@pytest.mark.parametrize(("caller_role", "expected"), EXAMPLE_A)
def test_example_a_editable_matrix_by_profile(tree, roles, make_client, caller_role, expected):
    x = holder(tree, roles, X_ACCESSES)
    caller = holder(tree, roles, ((caller_role, APHP),))
    profile_id = Profile.objects.get(user=x).id

    response = make_client(caller).get(f"/accesses/accesses/?profile_id={profile_id}")

    if expected is None:
        assert response.status_code == 403, response.content
        return
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == 3
    assert {item["perimeter_id"]: item["editable"] for item in body["results"]} == expected
    assert {item["profile"]["id"] for item in body["results"]} == {profile_id}


# ------------------------------------------------------------------------------------------------------
# Example B (§10.2): assignable roles on P0
# ------------------------------------------------------------------------------------------------------
# The catalogue of example B: full admin, 3 admin managers, 3 data managers, 5 readers, the full-access
# reader. The fixture's extra "reader_nomi" is not part of it and is (soft-)deleted for these cases.
EXAMPLE_B_CATALOGUE = ALL_ROLES - {"reader_nomi"}
DATA_MANAGERS = {"data_manager", "data_manager_same", "data_manager_inf"}
READERS_WITHOUT_UNLIMITED = {
    "reader_nomi_ipp",
    "reader_pseudo",
    "reader_nomi_pseudo",
    "reader_nomi_csv",
    "jupyter_pseudo",
}
EIGHT = DATA_MANAGERS | READERS_WITHOUT_UNLIMITED

EXAMPLE_B = [
    # caller role, caller perimeter, perimeter asked, expected roles (keys of the `roles` fixture)
    pytest.param("full_admin", APHP, 0, EXAMPLE_B_CATALOGUE, id="B-full-admin@APHP-on-P0"),
    pytest.param("full_admin", APHP, 5, EXAMPLE_B_CATALOGUE, id="B-full-admin@APHP-on-P5"),
    pytest.param("full_admin", APHP, 7, EXAMPLE_B_CATALOGUE, id="B-full-admin@APHP-on-P7"),
    pytest.param("full_admin", APHP, 13, EXAMPLE_B_CATALOGUE, id="B-full-admin@APHP-on-P13"),
    pytest.param("admin_manager", APHP, 0, EIGHT, id="B-admin-manager@APHP"),
    pytest.param("admin_manager_same", APHP, 0, set(), id="B-admin-manager-same-only@APHP"),
    pytest.param("admin_manager_inf", APHP, 0, EIGHT, id="B-admin-manager-inf-only@APHP"),
    pytest.param("admin_manager", 0, 0, EIGHT, id="B-admin-manager@P0"),
    pytest.param("admin_manager", 4, 0, set(), id="B-admin-manager@P4"),
    # Rows derived from the §10.2 rules (not in the spec table): data managers only reach readers.
    pytest.param("data_manager", APHP, 0, READERS_WITHOUT_UNLIMITED, id="B-derived-data-manager@APHP"),
    pytest.param("data_manager_same", APHP, 0, set(), id="B-derived-data-manager-same-only@APHP"),
    pytest.param("data_manager_same", 0, 0, READERS_WITHOUT_UNLIMITED, id="B-derived-data-manager-same@P0"),
    pytest.param("reader_nomi_pseudo", APHP, 0, set(), id="B-derived-reader@APHP"),
]


@pytest.mark.parametrize(("caller_role", "caller_perimeter", "perimeter_id", "expected"), EXAMPLE_B)
def test_example_b_assignable_roles(tree, roles, make_client, caller_role, caller_perimeter, perimeter_id, expected):
    caller = holder(tree, roles, ((caller_role, caller_perimeter),))
    roles["reader_nomi"].delete()  # soft delete: not in the catalogue of example B

    response = make_client(caller).get(f"/accesses/roles/assignable/?perimeter_id={perimeter_id}&limit=100")

    assert response.status_code == 200, response.content
    body = response.json()
    assert isinstance(body, list)  # a bare array (ROL-2)
    assert {role["name"] for role in body} == {roles[key].name for key in expected}
    assert len(body) == len(expected)
    if body:
        assert {"id", "name", "help_text", "right_full_admin"} <= body[0].keys()


def test_example_b_assignable_roles_needs_perimeter_id(tree, roles, make_client):
    caller = holder(tree, roles, (("admin_manager", APHP),))

    response = make_client(caller).get("/accesses/roles/assignable/")

    assert response.status_code == 400
    assert response.json() == {"error": "Missing parameter: `perimeter_id`"}


def test_example_b_assignable_roles_unknown_perimeter(tree, roles, make_client):
    caller = holder(tree, roles, (("admin_manager", APHP),))

    response = make_client(caller).get("/accesses/roles/assignable/?perimeter_id=424242")

    assert response.status_code == 404


# ------------------------------------------------------------------------------------------------------
# Example C (§10.2, from the design documentation)
# ------------------------------------------------------------------------------------------------------
EXAMPLE_C = [
    # X's role and perimeter, Y's access role and perimeter, X can manage Y's access
    pytest.param(("admin_manager_inf", 1), ("data_manager_inf", 1), False, id="C-inf-only-both-on-P1"),
    pytest.param(("admin_manager_same", 1), ("data_manager_same", 1), True, id="C-same-only-both-on-P1"),
    pytest.param(("admin_manager_inf", 1), ("data_manager_inf", 7), True, id="C-X-inf-on-P1-Y-on-P7"),
]


@pytest.mark.parametrize(("x_access", "y_access", "manageable"), EXAMPLE_C)
def test_example_c_retrieve(tree, roles, make_client, x_access, y_access, manageable):
    x = holder(tree, roles, (x_access,))
    y = holder(tree, roles, (y_access,))
    access = Access.objects.get(profile__user=y)

    response = make_client(x).get(f"/accesses/accesses/{access.id}/")

    assert response.status_code == (200 if manageable else 403), response.content
    if manageable:
        assert response.json()["id"] == access.id
        assert "editable" not in response.json()


@pytest.mark.parametrize(("x_access", "y_access", "manageable"), EXAMPLE_C)
def test_example_c_editable_flag(tree, roles, make_client, x_access, y_access, manageable):
    x = holder(tree, roles, (x_access,))
    y = holder(tree, roles, (y_access,))
    profile_id = Profile.objects.get(user=y).id

    response = make_client(x).get(f"/accesses/accesses/?profile_id={profile_id}")

    assert response.status_code == 200, response.content
    assert [item["editable"] for item in response.json()["results"]] == [manageable]


# ------------------------------------------------------------------------------------------------------
# Examples D and E (§10.3): manageable perimeters
# ------------------------------------------------------------------------------------------------------
EXAMPLE_D_E = [
    pytest.param(
        (("data_manager_inf", 0), ("admin_manager", 1), ("admin_manager_same", 8), ("data_manager_inf", 10)),
        {1, 8, 3, 4, 5, 13, 14},
        id="D",
    ),
    pytest.param(
        (("data_manager", 0), ("admin_manager", 2), ("data_manager", 8), ("admin_manager", 1)),
        {0, 1, 2},
        id="E",
    ),
    pytest.param((("full_admin", 4),), {APHP}, id="full-admin-gets-the-root"),
    pytest.param((("users_manager", 4),), {APHP}, id="only-manage-users-gets-the-root"),
    pytest.param((), set(), id="no-access-gets-nothing"),
    pytest.param((("reader_nomi_pseudo", APHP),), set(), id="reader-only-gets-nothing"),
]


@pytest.mark.parametrize(("grants", "expected"), EXAMPLE_D_E)
def test_examples_d_e_manageable_perimeters(tree, roles, make_client, grants, expected):
    roles["users_manager"] = RoleFactory(name="users_manager", right_manage_users=True)
    user = holder(tree, roles, grants)

    response = make_client(user).get("/accesses/perimeters/manageable/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert isinstance(body, list)  # a bare array (PER-3)
    assert sorted(item["id"] for item in body) == sorted(expected)
    for item in body:
        assert set(item) == PERIMETER_LITE_KEYS
        assert item["parent_id"] == (None if item["id"] == APHP else str(tree[item["id"]].parent_id))


# ------------------------------------------------------------------------------------------------------
# Example F (§10.4): my data rights
# ------------------------------------------------------------------------------------------------------
EXAMPLE_F_GRANTS: Grants = (
    ("reader_nomi_pseudo", 0),
    ("admin_manager", 1),
    ("jupyter_pseudo", 7),
    ("reader_nomi_ipp", 8),
    ("reader_nomi_csv", 12),
)
FLAGS = (
    "right_read_patient_nominative",
    "right_read_patient_pseudonymized",
    "right_search_patients_by_ipp",
    "right_search_opposed_patients",
    "right_export_csv_xlsx_nominative",
    "right_export_jupyter_nominative",
    "right_export_jupyter_pseudonymized",
)


def flags(nomi, pseudo, ipp, opposed, csv, jupyter_nomi, jupyter_pseudo) -> dict[str, bool]:
    return dict(zip(FLAGS, (nomi, pseudo, ipp, opposed, csv, jupyter_nomi, jupyter_pseudo), strict=True))


EXAMPLE_F = [
    pytest.param("0", {0: flags(True, True, True, False, True, False, True)}, id="F-P0"),
    pytest.param("2", {}, id="F-P2-nothing-reads"),
    pytest.param("4", {4: flags(True, True, True, False, True, False, True)}, id="F-P4-inherits-P0"),
    pytest.param("8", {8: flags(True, False, True, False, True, False, True)}, id="F-P8"),
]


@pytest.mark.parametrize(("perimeters_ids", "expected"), EXAMPLE_F)
def test_example_f_my_data_rights(tree, roles, make_client, perimeters_ids, expected):
    user = holder(tree, roles, EXAMPLE_F_GRANTS)

    response = make_client(user).get(f"/accesses/accesses/my-data-rights/?perimeters_ids={perimeters_ids}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert isinstance(body, list)
    assert {item["perimeter_id"]: {flag: item[flag] for flag in FLAGS} for item in body} == expected
    for item in body:
        assert set(item) == {"user_id", "perimeter_id", *FLAGS}
        assert item["user_id"] == user.pk


def test_example_f_my_data_rights_rejects_non_integer_ids(tree, roles, make_client):
    user = holder(tree, roles, EXAMPLE_F_GRANTS)

    response = make_client(user).get("/accesses/accesses/my-data-rights/?perimeters_ids=a,b")

    assert response.status_code == 400
    assert response.json() == "`perimeters_ids` must be integers, got `a,b` instead"


# ------------------------------------------------------------------------------------------------------
# Example G (§10.5): read rights over the perimeter tree
# ------------------------------------------------------------------------------------------------------
EXAMPLE_G_GRANTS: Grants = (
    ("reader_pseudo", 0),
    ("full_access_reader", 1),
    ("reader_nomi_pseudo", 2),
    ("reader_nomi", 4),
    ("reader_pseudo", 10),
)
NOMI, PSEUDO = "nominative", "pseudonymised"

EXAMPLE_G = [
    # query, expected [(perimeter id, reading)] in (full_path, id) order
    pytest.param("", [(0, PSEUDO), (4, NOMI), (1, NOMI), (2, NOMI)], id="G-no-parameters"),
    pytest.param("?local_id=1,5,9", [(5, PSEUDO), (1, NOMI), (9, NOMI)], id="G-local-id-P1-P5-P9"),
]


@pytest.mark.parametrize(("query", "expected"), EXAMPLE_G)
def test_example_g_patient_data_rights(tree, roles, make_client, query, expected):
    user = holder(tree, roles, EXAMPLE_G_GRANTS)

    response = make_client(user).get(f"/accesses/perimeters/patient-data/rights/{query}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["count"] == len(expected)
    got = [(item["perimeter"]["id"], item) for item in body["results"]]
    assert [pid for pid, _ in got] == [pid for pid, _ in expected]
    for (pid, item), (_, reading) in zip(got, expected, strict=True):
        nominative = reading == NOMI
        assert item == {
            "perimeter": item["perimeter"],
            "read_role": "READ_PATIENT_NOMINATIVE" if nominative else "READ_PATIENT_PSEUDO_ANONYMIZE",
            "right_read_patient_nominative": nominative,
            "right_read_patient_pseudonymized": True,
            "right_search_patients_by_ipp": True,  # user-wide (held through P1 "full access")
            "right_read_opposed_patients_data": True,
        }, pid


def test_example_g_item_shape(tree, roles, make_client):
    user = holder(tree, roles, EXAMPLE_G_GRANTS)

    body = make_client(user).get("/accesses/perimeters/patient-data/rights/").json()

    p4 = next(item["perimeter"] for item in body["results"] if item["perimeter"]["id"] == 4)
    assert set(p4) == PERIMETER_LITE_KEYS
    assert p4["parent_id"] == "0"  # a string, while the id is an integer
    assert p4["cohort_id"] == "1004"
    assert p4["full_path"] == "APHP/P0/P4"
    assert p4["name"] == "P4"


@pytest.mark.parametrize(
    ("grants", "query"),
    [
        pytest.param((), "", id="G-no-access"),
        pytest.param((("admin_manager", APHP),), "", id="G-manager-only"),
        pytest.param((("admin_manager", APHP),), "?local_id=1", id="G-manager-only-with-filter"),
        pytest.param((("reader_nomi", 4),), "?local_id=1", id="G-reader-elsewhere-with-filter"),
    ],
)
def test_example_g_without_reading_rights_is_an_empty_object(tree, roles, make_client, grants, query):
    user = holder(tree, roles, grants)

    response = make_client(user).get(f"/accesses/perimeters/patient-data/rights/{query}")

    assert response.status_code == 200, response.content
    assert response.json() == {}


# ------------------------------------------------------------------------------------------------------
# Examples H (§10.6): read mode on target cohorts
# ------------------------------------------------------------------------------------------------------
def read_answer(nomi: bool, *, opposed=False, unlimited=False, practitioner=False) -> dict[str, bool]:
    return {
        "allow_read_patient_data_nomi": nomi,
        "allow_lookup_opposed_patients": opposed,
        "allow_read_patient_without_perimeter_limit": unlimited,
        "allow_read_practitioner": practitioner,
    }


NO_READING = {"error": "User has no data reading accesses"}
UNLIMITED = read_answer(True, opposed=True, unlimited=True, practitioner=False)

H3_USER = (("reader_pseudo", APHP), ("reader_nomi", 0), ("reader_nomi", 10))
H5_USER = (("reader_pseudo", APHP), ("reader_nomi_pseudo", 4), ("reader_nomi", 10))
H6_USER = (("reader_pseudo", 2), ("reader_pseudo", 3))
H9_USER = (("reader_pseudo", 1), ("reader_nomi", 2))
MANAGERS_ONLY = (("admin_manager", APHP), ("data_manager", 2))

EXAMPLE_H = [
    # user accesses, target perimeters, mode, expected status, expected body
    pytest.param((("reader_pseudo", APHP), ("reader_nomi", 1)), (1,), "min", 200, read_answer(True), id="H1"),
    pytest.param((("reader_pseudo", 1), ("reader_nomi", APHP)), (1, 5), "min", 200, read_answer(True), id="H2"),
    pytest.param(H3_USER, (5, 8), "max", 200, read_answer(True), id="H3-max"),
    pytest.param(H3_USER, (5, 8), "min", 200, read_answer(False), id="H4-min-P8-only-pseudo"),
    pytest.param(H5_USER, (APHP, 4, 10), "min", 200, read_answer(False), id="H5-min"),
    pytest.param(H5_USER, (APHP, 4, 10), "max", 200, read_answer(True), id="H5-max"),
    pytest.param(H6_USER, (2, 9), "max", 200, read_answer(False), id="H6-max"),
    pytest.param(H6_USER, (2, 9), "min", 200, read_answer(False), id="H6-min"),
    pytest.param((("reader_pseudo", 1), ("reader_nomi", 4)), (6, 12), "min", 200, read_answer(False), id="H7"),
    pytest.param((("full_access_reader", 1),), (6, 12), "min", 200, UNLIMITED, id="H8-full-access-min"),
    pytest.param((("full_access_reader", 1),), (6, 12), "max", 200, UNLIMITED, id="H8-full-access-max"),
    pytest.param(H9_USER, (1, 5), "min", 404, NO_READING, id="H9-min-P5-unreadable"),
    pytest.param(H9_USER, (1, 5), "max", 200, read_answer(False), id="H10-max"),
    pytest.param(MANAGERS_ONLY, (APHP, 2), "min", 404, NO_READING, id="H11-managers-only"),
]


@pytest.mark.parametrize(("grants", "targets", "mode", "status", "expected"), EXAMPLE_H)
def test_examples_h_patient_data_read(tree, roles, make_client, grants, targets, mode, status, expected):
    user = holder(tree, roles, grants)

    response = make_client(user).get(
        f"/accesses/perimeters/patient-data/read/?cohort_ids={cohort(*targets)}&mode={mode}"
    )

    assert response.status_code == status, response.content
    assert response.json() == expected


def test_example_h_unlimited_search_short_circuits_target_resolution(tree, roles, make_client):
    user = holder(tree, roles, (("full_access_reader", 1),))

    response = make_client(user).get("/accesses/perimeters/patient-data/read/?cohort_ids=987654321&mode=min")

    assert response.status_code == 200, response.content
    assert response.json() == UNLIMITED


def test_example_h_reader_who_manages_users_may_read_practitioners(tree, roles, make_client):
    user = holder(tree, roles, (("reader_nomi", APHP), ("data_manager", 2)))

    response = make_client(user).get(f"/accesses/perimeters/patient-data/read/?cohort_ids={cohort(5)}&mode=max")

    assert response.status_code == 200, response.content
    assert response.json() == read_answer(True, practitioner=True)


def test_example_h_unknown_targets(tree, roles, make_client):
    user = holder(tree, roles, (("reader_nomi", APHP),))

    response = make_client(user).get("/accesses/perimeters/patient-data/read/?cohort_ids=987654321&mode=min")

    assert response.status_code == 404
    assert response.json() == {"error": "None of the target perimeters was found"}


BAD_MODE = {"error": "Patient data reading `mode` is missing or has invalid value"}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("?mode=min", {"error": "Missing `cohort_ids` parameter"}, id="missing-cohort-ids"),
        pytest.param("?cohort_ids=&mode=max", {"error": "Missing `cohort_ids` parameter"}, id="empty-cohort-ids"),
        pytest.param(f"?cohort_ids={cohort(1)}", BAD_MODE, id="missing-mode"),
        pytest.param(f"?cohort_ids={cohort(1)}&mode=all", BAD_MODE, id="invalid-mode"),
        pytest.param(f"?cohort_ids={cohort(1)}&mode=", BAD_MODE, id="empty-mode"),
    ],
)
def test_example_h_bad_parameters(tree, roles, make_client, query, expected):
    user = holder(tree, roles, (("reader_nomi", APHP),))

    response = make_client(user).get(f"/accesses/perimeters/patient-data/read/{query}")

    assert response.status_code == 400
    assert response.json() == expected
