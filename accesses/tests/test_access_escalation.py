"""No privilege escalation through the access endpoints (spec 01 §10.2, §11.2).

Creation must obey §10.2 (the reference did not check it: a data manager of a unit could grant Full
Admin on the root; the new implementation is required to answer 403). The expected answers are computed
by `may_manage` below, a transcription of the §10.2 rules written from the spec text, independent of the
application's code.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accesses.models import Access, Profile
from accesses.tests.conftest import APHP, ROLE_ARCHETYPES
from tests.factories import UserFactory, grant

pytestmark = pytest.mark.django_db

FULL_ADMIN_FLAGS = {
    flag: True
    for flag in (
        "right_full_admin", "right_manage_users", "right_manage_datalabs", "right_read_datalabs",
        "right_export_csv_xlsx_nominative", "right_export_jupyter_nominative", "right_export_jupyter_pseudonymized",
        "right_manage_admin_accesses_same_level", "right_manage_admin_accesses_inferior_levels",
        "right_manage_data_accesses_same_level", "right_manage_data_accesses_inferior_levels",
        "right_read_patient_nominative", "right_read_patient_pseudonymized", "right_search_patients_by_ipp",
        "right_search_patients_unlimited", "right_search_opposed_patients",
    )
}  # fmt: skip
FLAGS = {**ROLE_ARCHETYPES, "full_admin": FULL_ADMIN_FLAGS}

# §8.2 role classification
REQUIRES_FULL_ADMIN = (
    "right_full_admin", "right_search_patients_unlimited",
    "right_manage_admin_accesses_same_level", "right_manage_admin_accesses_inferior_levels",
)  # fmt: skip
REQUIRES_ADMIN_MANAGEMENT = (
    "right_manage_users", "right_manage_data_accesses_same_level", "right_manage_data_accesses_inferior_levels",
    "right_manage_datalabs", "right_read_datalabs",
)  # fmt: skip
REQUIRES_DATA_MANAGEMENT = (
    "right_read_patient_nominative", "right_read_patient_pseudonymized", "right_search_patients_by_ipp",
    "right_search_opposed_patients", "right_export_csv_xlsx_nominative", "right_export_jupyter_nominative",
    "right_export_jupyter_pseudonymized",
)  # fmt: skip

# Where the target perimeter stands relative to the caller's perimeter P0 (reference tree of §10).
CALLER_PERIMETER = 0
TARGETS = {"same": 0, "child": 4, "grandchild": 11, "parent": APHP, "sibling": 1}
CALLER_ROLES = (
    "admin_manager", "admin_manager_same", "admin_manager_inf",
    "data_manager", "data_manager_same", "data_manager_inf",
)  # fmt: skip
TARGET_ROLES = ("reader_nomi_pseudo", "data_manager", "admin_manager", "full_admin")


def may_manage(caller_role: str, position: str, target_role: str) -> bool:
    """§10.2 for a caller holding only `caller_role` on P0, target role on the perimeter at `position`."""
    held, target = FLAGS[caller_role], FLAGS[target_role]
    if held.get("right_full_admin"):
        return True
    admin_ok = data_ok = False
    if position == "same":  # an access on P itself with a SAME right
        admin_ok = held.get("right_manage_admin_accesses_same_level", False)
        data_ok = held.get("right_manage_data_accesses_same_level", False)
    elif position in ("child", "grandchild"):  # an access on an ancestor of P with an INF right
        admin_ok = held.get("right_manage_admin_accesses_inferior_levels", False)
        data_ok = held.get("right_manage_data_accesses_inferior_levels", False)
    data_ok = data_ok or admin_ok  # whoever can manage administrators can manage data readers
    return (
        not any(target.get(flag) for flag in REQUIRES_FULL_ADMIN)
        and (admin_ok or not any(target.get(flag) for flag in REQUIRES_ADMIN_MANAGEMENT))
        and (data_ok or not any(target.get(flag) for flag in REQUIRES_DATA_MANAGEMENT))
    )


# A few rows written out by hand from the spec, to keep the oracle honest.
@pytest.mark.parametrize(
    ("caller_role", "position", "target_role", "expected"),
    [
        ("admin_manager", "child", "data_manager", True),  # §10.2 example A: admin_ok on X@P10
        ("admin_manager", "child", "reader_nomi_pseudo", True),  # admin_ok ⇒ data_ok
        ("admin_manager", "same", "admin_manager", False),  # admin-access management needs a full admin
        ("data_manager", "child", "data_manager", False),  # requires admin-access management
        ("data_manager", "child", "reader_nomi_pseudo", True),
        ("data_manager_same", "child", "reader_nomi_pseudo", False),  # same level never reaches descendants
        ("data_manager_inf", "same", "reader_nomi_pseudo", False),  # inferior never applies to P itself
        ("admin_manager", "parent", "reader_nomi_pseudo", False),
        ("admin_manager", "sibling", "reader_nomi_pseudo", False),
        ("data_manager", "same", "full_admin", False),
    ],
)
def test_oracle_agrees_with_the_spec_text(caller_role, position, target_role, expected):
    assert may_manage(caller_role, position, target_role) is expected


def matrix():
    for caller_role in CALLER_ROLES:
        for position in TARGETS:
            for target_role in TARGET_ROLES:
                allowed = may_manage(caller_role, position, target_role)
                yield pytest.param(
                    caller_role,
                    position,
                    target_role,
                    allowed,
                    id=f"{caller_role}@P0-grants-{target_role}-on-{position}-{201 if allowed else 403}",
                )


def manager(tree, roles, role_name: str, perimeter_id: int):
    user = UserFactory()
    grant(user, roles[role_name], tree[perimeter_id])
    return user


def new_profile() -> Profile:
    return Profile.objects.create(user=UserFactory())


def access_count() -> int:
    return Access.all_objects.count()


@pytest.mark.parametrize(("caller_role", "position", "target_role", "allowed"), list(matrix()))
def test_create_access_obeys_the_management_rules(
    tree, roles, make_client, caller_role, position, target_role, allowed
):
    caller = manager(tree, roles, caller_role, CALLER_PERIMETER)
    target = new_profile()
    perimeter_id = TARGETS[position]
    before = access_count()

    response = make_client(caller).post(
        "/accesses/accesses/",
        {"profile_id": target.id, "role_id": roles[target_role].id, "perimeter_id": perimeter_id},
        format="json",
    )

    if allowed:
        assert response.status_code == 201, response.content
        assert access_count() == before + 1
        created = Access.objects.get(profile=target)
        assert (created.role_id, created.perimeter_id) == (roles[target_role].id, perimeter_id)
        assert response.json()["role"]["id"] == roles[target_role].id
    else:
        assert response.status_code == 403, response.content
        assert access_count() == before
        assert not Access.all_objects.filter(profile=target).exists()


@pytest.mark.parametrize(
    ("caller_role", "target_role"),
    [
        pytest.param("admin_manager", "reader_nomi_pseudo", id="admin-manager@P4-grants-reader"),
        pytest.param("admin_manager", "data_manager", id="admin-manager@P4-grants-data-manager"),
        pytest.param("data_manager", "reader_nomi_pseudo", id="data-manager@P4-grants-reader"),
        pytest.param("data_manager", "full_admin", id="data-manager@P4-grants-full-admin"),
    ],
)
def test_manager_of_p4_cannot_grant_on_aphp(tree, roles, make_client, caller_role, target_role):
    caller = manager(tree, roles, caller_role, 4)
    target = new_profile()
    before = access_count()

    response = make_client(caller).post(
        "/accesses/accesses/",
        {"profile_id": target.id, "role_id": roles[target_role].id, "perimeter_id": APHP},
        format="json",
    )

    assert response.status_code == 403, response.content
    assert access_count() == before


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("role", id="role_id"),
        pytest.param("role+perimeter+profile", id="role_id-perimeter_id-profile_id"),
    ],
)
def test_close_ignores_the_body(tree, roles, make_client, body):
    caller = manager(tree, roles, "data_manager", 0)
    other = new_profile()
    target_user = UserFactory()
    access = grant(target_user, roles["reader_nomi_pseudo"], tree[4])
    snapshot = (access.role_id, access.perimeter_id, access.profile_id, access.start_datetime)
    payload = {"role_id": roles["full_admin"].id}
    if body == "role+perimeter+profile":
        payload |= {"perimeter_id": APHP, "profile_id": other.id}

    response = make_client(caller).patch(f"/accesses/accesses/{access.id}/close/", payload, format="json")

    assert response.status_code == 200, response.content
    access.refresh_from_db()
    assert (access.role_id, access.perimeter_id, access.profile_id, access.start_datetime) == snapshot
    assert access.end_datetime <= timezone.now()
    assert response.json()["role"]["id"] == roles["reader_nomi_pseudo"].id
    assert response.json()["perimeter_id"] == 4
    assert response.json()["is_valid"] is False


# An access a data manager on P0 cannot manage (§10.2), and the calls attempting to change it.
UNMANAGEABLE = [
    pytest.param("data_manager", "admin_manager", 4, id="data-manager@P0-vs-admin-manager@P4"),
    pytest.param("data_manager", "data_manager", 4, id="data-manager@P0-vs-data-manager@P4"),
    pytest.param("data_manager", "full_admin", 0, id="data-manager@P0-vs-full-admin@P0"),
    pytest.param("data_manager_same", "reader_nomi_pseudo", 4, id="data-manager-same@P0-vs-reader@P4"),
    pytest.param("data_manager_inf", "reader_nomi_pseudo", 0, id="data-manager-inf@P0-vs-reader@P0"),
    pytest.param("data_manager", "reader_nomi_pseudo", APHP, id="data-manager@P0-vs-reader@APHP"),
    pytest.param("data_manager", "reader_nomi_pseudo", 1, id="data-manager@P0-vs-reader@P1-sibling"),
]
CALLS = [
    pytest.param("patch", "", "current", id="PATCH"),
    pytest.param("patch", "close/", "current", id="close"),
    pytest.param("delete", "", "future", id="DELETE"),
    pytest.param("get", "", "current", id="GET"),
]


@pytest.mark.parametrize(("method", "suffix", "timing"), CALLS)
@pytest.mark.parametrize(("caller_role", "target_role", "perimeter_id"), UNMANAGEABLE)
def test_cannot_change_an_access_one_cannot_manage(
    tree, roles, make_client, caller_role, target_role, perimeter_id, method, suffix, timing
):
    assert not may_manage(caller_role, {0: "same", 4: "child", APHP: "parent", 1: "sibling"}[perimeter_id], target_role)
    caller = manager(tree, roles, caller_role, 0)
    access = grant(UserFactory(), roles[target_role], tree[perimeter_id])
    if timing == "future":
        access.start_datetime = timezone.now() + timedelta(days=2)
        access.save()
    before = Access.all_objects.values().get(pk=access.pk)
    client = make_client(caller)
    url = f"/accesses/accesses/{access.id}/{suffix}"
    new_end = (timezone.now() + timedelta(days=90)).isoformat()

    if method == "patch":
        response = client.patch(url, {"end_datetime": new_end} if not suffix else None, format="json")
    else:
        response = getattr(client, method)(url)

    # Accesses off the line of the caller's managed perimeters are not even visible to them (404): listing
    # every access of the platform to any manager was a privacy defect of the reference (spec 01 §24.8).
    expected = 404 if perimeter_id == 1 else 403
    assert response.status_code == expected, response.content
    assert Access.all_objects.values().get(pk=access.pk) == before
