"""Roles API (spec 01 §8.2, §9.3, §9.4, §11.3; client contract ROL-1, ROL-3..ROL-7).

Design decisions tested as such: role writes are for full admins only; `roles/{id}/users/` is for callers
allowed to manage accesses (403 otherwise); the help text of `right_search_patients_unlimited` is a
sentence (not null); PUT is refused (405).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accesses.models import RIGHT_FLAGS, Access, Profile, Role
from accesses.tests.conftest import APHP
from admin_cohort.models import RequestLog
from tests.factories import RoleFactory, UserFactory, grant
from tests.races import while_a_write_is_uncommitted

pytestmark = pytest.mark.django_db

ROLES = "/accesses/roles/"

NOMI = "Lire les données patient sous forme nominatives sur son périmètre et ses sous-périmètres"
PSEUDO = "Lire les données patient sous forme pseudonymisée sur son périmètre et ses sous-périmètres"
IPP = "Utiliser une liste d'IPP comme critère d'une requête Cohort."
USERS = "Gérer la liste des utilisateurs/profils"
OPPOSED = "Détermine le droit de chercher les patients opposés à l'utilisation de leurs données pour la recherche"
JUPYTER_NOMI = "Exporter ses cohortes de patients sous forme nominative vers un environnement Jupyter."
JUPYTER_PSEUDO = "Exporter ses cohortes de patients sous forme pseudonymisée vers un environnement Jupyter."
CSV = "Demander à exporter ses cohortes de patients sous forme nominative en format CSV/Excel."
MANAGE_DATALABS = "Gérer les environnements de travail"
READ_DATALABS = "Consulter la liste des environnements de travail"
ADMIN_ROOT = "Gérer les accès des administrateurs"
DATA_ROOT = "Gérer les accès aux données patients"
BOTH_LEVELS = " sur un périmètre et ses sous-périmètres"
SAME_ONLY = " sur un périmètre exclusivement"
INF_ONLY = " sur les sous-périmètres exclusivement"

ERR_FULL_ADMIN = "Cannot create a Full Admin role with falsy rights"
ERR_PSEUDO_EXPORT = "Cannot create a role allowing to read patient data in pseudo and export nominative data"
ERR_IPP = "Cannot create a role allowing to search by IPP but not read patient data in nominative mode"
ERR_MANAGE = "Cannot create a role allowing to manage accesses but not users"
ACCESS_MANAGEMENT_FLAGS = (
    "right_manage_admin_accesses_same_level",
    "right_manage_admin_accesses_inferior_levels",
    "right_manage_data_accesses_same_level",
    "right_manage_data_accesses_inferior_levels",
)

ROLE_KEYS = {"id", "insert_datetime", "update_datetime", "delete_datetime", "name", *RIGHT_FLAGS, "help_text"}
HOLDER_KEYS = {"provider_username", "firstname", "lastname", "email", "perimeter", "start_datetime", "end_datetime"}


# ------------------------------------------------------------------------------------------------ fixtures
@pytest.fixture
def root(tree):
    return tree[APHP]


@pytest.fixture
def admin(roles, root):
    user = UserFactory(username="admin0001", firstname="Ada", lastname="ADMIN")
    grant(user, roles["full_admin"], root)
    return user


@pytest.fixture
def admin_manager(roles, root):
    user = UserFactory(username="amanager1", firstname="Adam", lastname="MANAGER")
    grant(user, roles["admin_manager"], root)
    return user


@pytest.fixture
def data_manager(roles, root):
    user = UserFactory(username="dmanager1", firstname="Dana", lastname="MANAGER")
    grant(user, roles["data_manager"], root)
    return user


@pytest.fixture
def reader(roles, root):
    user = UserFactory(username="reader001", firstname="Rita", lastname="READER")
    grant(user, roles["reader_nomi"], root)
    return user


def flags(**true_flags: bool) -> dict[str, bool]:
    """The full payload the Portail sends (ROL-4): every flag, missing ones false."""
    return {flag: bool(true_flags.get(flag, False)) for flag in RIGHT_FLAGS}


def names_of(response) -> list[str]:
    return [role["name"] for role in response.json()["results"]]


def by_name(response) -> dict[str, dict]:
    return {role["name"]: role for role in response.json()["results"]}


# ---------------------------------------------------------------------------------------------------- list
class TestList:
    def test_anonymous_is_refused(self, anonymous, roles):
        assert anonymous.get(ROLES).status_code == 403

    def test_any_authenticated_user_lists_roles_with_the_full_shape(self, make_client, reader, roles):
        response = make_client(reader).get(f"{ROLES}?ordering=name&limit=100")
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == len(roles) == len(body["results"])
        assert body["next"] is None and body["previous"] is None
        for item in body["results"]:
            assert set(item) == ROLE_KEYS
            assert isinstance(item["help_text"], list)
            assert all(isinstance(sentence, str) and sentence for sentence in item["help_text"])
        reader_nomi_ipp = by_name(response)["reader_nomi_ipp"]
        assert reader_nomi_ipp["id"] == roles["reader_nomi_ipp"].id
        assert reader_nomi_ipp["delete_datetime"] is None
        assert reader_nomi_ipp["right_read_patient_nominative"] is True
        assert reader_nomi_ipp["right_search_patients_by_ipp"] is True
        assert [flag for flag in RIGHT_FLAGS if reader_nomi_ipp[flag]] == [
            "right_read_patient_nominative",
            "right_search_patients_by_ipp",
        ]
        # DRF datetimes: ISO-8601 with microseconds and Z
        assert reader_nomi_ipp["insert_datetime"].endswith("Z") and "T" in reader_nomi_ipp["insert_datetime"]

    @pytest.mark.parametrize(
        "archetype, expected",
        [
            ("reader_nomi_ipp", [NOMI, IPP]),
            ("reader_nomi_pseudo", [NOMI, PSEUDO]),
            ("reader_nomi_csv", [NOMI, CSV]),
            ("jupyter_pseudo", [PSEUDO, JUPYTER_PSEUDO]),
            ("admin_manager", [USERS, ADMIN_ROOT + BOTH_LEVELS]),
            ("admin_manager_same", [USERS, ADMIN_ROOT + SAME_ONLY]),
            ("admin_manager_inf", [USERS, ADMIN_ROOT + INF_ONLY]),
            ("data_manager", [USERS, DATA_ROOT + BOTH_LEVELS]),
            ("data_manager_same", [USERS, DATA_ROOT + SAME_ONLY]),
            ("data_manager_inf", [USERS, DATA_ROOT + INF_ONLY]),
        ],
    )
    def test_help_text_sentences(self, make_client, reader, roles, archetype, expected):
        response = make_client(reader).get(f"{ROLES}{roles[archetype].id}/")
        assert response.status_code == 200
        assert response.json()["help_text"] == expected

    def test_help_text_of_a_role_without_rights_is_empty(self, make_client, reader, roles):
        role = RoleFactory(name="nothing")
        assert make_client(reader).get(f"{ROLES}{role.id}/").json()["help_text"] == []

    def test_help_text_puts_admin_then_data_level_sentences_last(self, make_client, reader, roles):
        role = RoleFactory(
            name="both managers",
            right_manage_users=True,
            right_manage_data_accesses_same_level=True,
            right_manage_admin_accesses_inferior_levels=True,
            right_read_patient_nominative=True,
        )
        help_text = make_client(reader).get(f"{ROLES}{role.id}/").json()["help_text"]
        assert help_text == [USERS, NOMI, ADMIN_ROOT + INF_ONLY, DATA_ROOT + SAME_ONLY]

    def test_help_text_of_unlimited_search_is_a_sentence_not_null(self, make_client, reader, roles):
        help_text = make_client(reader).get(f"{ROLES}{roles['full_access_reader'].id}/").json()["help_text"]
        assert len(help_text) == 5
        assert help_text[:3] == [NOMI, PSEUDO, IPP]
        unlimited = help_text[3]
        assert isinstance(unlimited, str) and unlimited.strip()
        assert unlimited not in (NOMI, PSEUDO, IPP, OPPOSED)
        assert help_text[4] == OPPOSED

    def test_help_text_of_the_full_admin_role_in_catalogue_order(self, make_client, reader, roles):
        help_text = make_client(reader).get(f"{ROLES}{roles['full_admin'].id}/").json()["help_text"]
        assert None not in help_text
        assert len(help_text) == 14
        assert help_text[:5] == ["Super user", USERS, NOMI, PSEUDO, IPP]
        assert isinstance(help_text[5], str) and help_text[5]  # right_search_patients_unlimited
        assert help_text[6:] == [
            OPPOSED,
            JUPYTER_NOMI,
            JUPYTER_PSEUDO,
            CSV,
            MANAGE_DATALABS,
            READ_DATALABS,
            ADMIN_ROOT + BOTH_LEVELS,
            DATA_ROOT + BOTH_LEVELS,
        ]

    def test_filter_by_name_is_a_case_insensitive_contains(self, make_client, reader, roles):
        response = make_client(reader).get(f"{ROLES}?name=ADMIN_MANAGER&limit=100")
        assert response.status_code == 200
        assert sorted(names_of(response)) == ["admin_manager", "admin_manager_inf", "admin_manager_same"]

    def test_filter_by_flag(self, make_client, reader, roles):
        client = make_client(reader)
        response = client.get(f"{ROLES}?right_full_admin=true&limit=100")
        assert response.status_code == 200
        assert names_of(response) == ["Full Admin"]
        response = client.get(f"{ROLES}?right_full_admin=false&limit=100")
        assert response.status_code == 200
        assert "Full Admin" not in names_of(response)
        assert response.json()["count"] == len(roles) - 1
        response = client.get(f"{ROLES}?right_search_patients_by_ipp=true&limit=100")
        assert sorted(names_of(response)) == ["Full Admin", "full_access_reader", "reader_nomi_ipp"]

    def test_filter_by_two_flags_combines_them(self, make_client, reader, roles):
        response = make_client(reader).get(
            f"{ROLES}?right_read_patient_nominative=true&right_read_patient_pseudonymized=true&limit=100"
        )
        assert sorted(names_of(response)) == ["Full Admin", "full_access_reader", "reader_nomi_pseudo"]

    @pytest.mark.parametrize("value", ["yes", "1", "True", "maybe"])
    def test_bad_boolean_value_is_a_400(self, make_client, reader, roles, value):
        response = make_client(reader).get(f"{ROLES}?right_full_admin={value}")
        assert response.status_code == 400

    def test_ordering_by_name_as_the_portail_asks(self, user_client):
        for name in ("Delta role", "Alpha role", "Charlie role", "Bravo role"):
            RoleFactory(name=name)
        response = user_client.get(f"{ROLES}?ordering=name&limit=100")
        assert response.status_code == 200
        assert names_of(response) == ["Alpha role", "Bravo role", "Charlie role", "Delta role"]
        response = user_client.get(f"{ROLES}?ordering=-name&limit=100")
        assert names_of(response) == ["Delta role", "Charlie role", "Bravo role", "Alpha role"]

    def test_default_limit_is_20_and_negative_limit_means_everything(self, user_client):
        for index in range(30):
            RoleFactory(name=f"bulk role {index:02d}")
        client = user_client
        body = client.get(ROLES).json()
        assert body["count"] == 30
        assert len(body["results"]) == 20
        assert body["next"] is not None
        body = client.get(f"{ROLES}?limit=-1").json()
        assert body["count"] == 30
        assert len(body["results"]) == 30
        assert body["next"] is None
        for garbage in ("0", "abc"):
            assert len(client.get(f"{ROLES}?limit={garbage}").json()["results"]) == 20

    def test_deleted_roles_are_hidden(self, make_client, reader, roles):
        roles["reader_pseudo"].delete()
        client = make_client(reader)
        assert "reader_pseudo" not in names_of(client.get(f"{ROLES}?limit=-1"))
        assert client.get(f"{ROLES}{roles['reader_pseudo'].id}/").status_code == 404

    def test_retrieve_gives_the_name_for_the_role_users_page(self, make_client, reader, roles):
        response = make_client(reader).get(f"{ROLES}{roles['data_manager'].id}/")
        assert response.status_code == 200
        assert set(response.json()) == ROLE_KEYS
        assert response.json()["name"] == "data_manager"

    def test_unknown_role_is_a_404(self, make_client, reader):
        assert make_client(reader).get(f"{ROLES}987654/").status_code == 404


# -------------------------------------------------------------------------------------------------- create
class TestCreate:
    def test_full_admin_creates_a_role(self, make_client, admin):
        response = make_client(admin).post(
            ROLES,
            flags(right_read_patient_pseudonymized=True, right_export_jupyter_pseudonymized=True)
            | {"name": "Lecteur pseudo"},
            format="json",
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == ROLE_KEYS
        assert body["name"] == "Lecteur pseudo"
        assert body["help_text"] == [PSEUDO, JUPYTER_PSEUDO]
        role = Role.objects.get(name="Lecteur pseudo")
        assert body["id"] == role.id
        assert role.right_read_patient_pseudonymized and role.right_export_jupyter_pseudonymized
        assert not role.right_read_patient_nominative

    def test_missing_flags_default_to_false(self, make_client, admin):
        response = make_client(admin).post(
            ROLES, {"name": "Lecteur nomi", "right_read_patient_nominative": True}, format="json"
        )
        assert response.status_code == 201
        body = response.json()
        assert [flag for flag in RIGHT_FLAGS if body[flag]] == ["right_read_patient_nominative"]

    def test_full_admin_role_with_every_right_is_accepted(self, make_client, admin, roles):
        payload = {flag: True for flag in RIGHT_FLAGS} | {"name": "Another super user"}
        assert make_client(admin).post(ROLES, payload, format="json").status_code == 201

    def test_admin_access_manager_is_refused(self, make_client, admin_manager):
        response = make_client(admin_manager).post(
            ROLES, flags(right_read_patient_nominative=True) | {"name": "Nope"}, format="json"
        )
        assert response.status_code == 403
        assert not Role.all_objects.filter(name="Nope").exists()

    def test_user_manager_and_reader_are_refused(self, make_client, data_manager, reader):
        for user in (data_manager, reader):
            response = make_client(user).post(ROLES, {"name": "Nope"}, format="json")
            assert response.status_code == 403
        assert not Role.all_objects.filter(name="Nope").exists()

    def test_anonymous_is_refused(self, anonymous, db):
        response = anonymous.post(ROLES, {"name": "Nope"}, format="json")
        assert response.status_code == 403
        assert not Role.all_objects.filter(name="Nope").exists()

    @pytest.mark.parametrize(
        "true_flags, message",
        [
            # rule 1: full admin with at least one falsy right
            ({"right_full_admin": True}, ERR_FULL_ADMIN),
            ({flag: True for flag in RIGHT_FLAGS if flag != "right_read_datalabs"}, ERR_FULL_ADMIN),
            ({flag: True for flag in RIGHT_FLAGS if flag != "right_search_patients_unlimited"}, ERR_FULL_ADMIN),
            # rule 2: pseudonymised reading (without nominative) + nominative export
            (
                {"right_read_patient_pseudonymized": True, "right_export_csv_xlsx_nominative": True},
                ERR_PSEUDO_EXPORT,
            ),
            (
                {"right_read_patient_pseudonymized": True, "right_export_jupyter_nominative": True},
                ERR_PSEUDO_EXPORT,
            ),
            # rule 3: IPP search without nominative reading
            ({"right_search_patients_by_ipp": True}, ERR_IPP),
            ({"right_search_patients_by_ipp": True, "right_read_patient_pseudonymized": True}, ERR_IPP),
            # rule 4: each access-management flag without user management
            *[({flag: True}, ERR_MANAGE) for flag in ACCESS_MANAGEMENT_FLAGS],
            ({"right_manage_data_accesses_same_level": True, "right_manage_datalabs": True}, ERR_MANAGE),
        ],
    )
    def test_inconsistent_rights_are_a_400_and_nothing_is_written(self, make_client, admin, true_flags, message):
        before = Role.all_objects.count()
        response = make_client(admin).post(ROLES, flags(**true_flags) | {"name": "Inconsistent"}, format="json")
        assert response.status_code == 400
        assert response.json() == {"error": message}
        assert Role.all_objects.count() == before
        assert not Role.all_objects.filter(name="Inconsistent").exists()

    @pytest.mark.parametrize(
        "true_flags, message",
        [
            # rules 1 and 3 broken: rule 1 reported
            ({"right_full_admin": True, "right_search_patients_by_ipp": True}, ERR_FULL_ADMIN),
            # rules 2 and 3 broken: rule 2 reported
            (
                {
                    "right_read_patient_pseudonymized": True,
                    "right_export_csv_xlsx_nominative": True,
                    "right_search_patients_by_ipp": True,
                },
                ERR_PSEUDO_EXPORT,
            ),
            # rules 3 and 4 broken: rule 3 reported
            ({"right_search_patients_by_ipp": True, "right_manage_data_accesses_same_level": True}, ERR_IPP),
        ],
    )
    def test_only_the_first_broken_rule_is_reported(self, make_client, admin, true_flags, message):
        response = make_client(admin).post(ROLES, flags(**true_flags) | {"name": "Inconsistent"}, format="json")
        assert response.status_code == 400
        assert response.json() == {"error": message}

    @pytest.mark.parametrize(
        "true_flags",
        [
            {"right_read_patient_nominative": True, "right_export_csv_xlsx_nominative": True},
            {
                "right_read_patient_nominative": True,
                "right_read_patient_pseudonymized": True,
                "right_export_jupyter_nominative": True,
            },
            {"right_read_patient_nominative": True, "right_search_patients_by_ipp": True},
            {"right_manage_users": True, "right_manage_admin_accesses_inferior_levels": True},
            {"right_manage_datalabs": True, "right_read_datalabs": True},
            {"right_read_datalabs": True},
            {},
        ],
    )
    def test_consistent_rights_are_accepted(self, make_client, admin, true_flags):
        response = make_client(admin).post(ROLES, flags(**true_flags) | {"name": "Consistent"}, format="json")
        assert response.status_code == 201, response.content

    def test_duplicate_name_is_a_400(self, make_client, admin, roles):
        before = Role.all_objects.count()
        response = make_client(admin).post(
            ROLES, flags(right_read_patient_nominative=True) | {"name": "reader_nomi"}, format="json"
        )
        assert response.status_code == 400
        assert response.json() == {"name": ["role with this name already exists."]}
        assert Role.all_objects.count() == before

    def test_a_deleted_roles_name_can_be_reused(self, make_client, admin):
        client = make_client(admin)
        first = client.post(ROLES, flags(right_read_patient_nominative=True) | {"name": "Reused"}, format="json")
        assert first.status_code == 201
        assert client.delete(f"{ROLES}{first.json()['id']}/").status_code == 204
        second = client.post(ROLES, flags(right_read_patient_nominative=True) | {"name": "Reused"}, format="json")
        assert second.status_code == 201, second.content
        assert second.json()["id"] != first.json()["id"]
        assert Role.all_objects.filter(name="Reused").count() == 2
        assert Role.objects.filter(name="Reused").count() == 1

    def test_a_deleted_roles_rights_can_be_reused_under_another_name(self, make_client, admin):
        client = make_client(admin)
        payload = flags(right_read_patient_nominative=True, right_search_patients_by_ipp=True)
        first = client.post(ROLES, payload | {"name": "Original"}, format="json")
        client.delete(f"{ROLES}{first.json()['id']}/")
        assert client.post(ROLES, payload | {"name": "Copy"}, format="json").status_code == 201

    def test_name_is_required(self, make_client, admin):
        response = make_client(admin).post(ROLES, flags(right_read_patient_nominative=True), format="json")
        assert response.status_code == 400
        assert "name" in response.json()


# --------------------------------------------------------------------------------------------------- patch
class TestPatch:
    @pytest.mark.django_db(transaction=True)
    def test_a_patch_racing_a_delete_leaves_the_role_deleted(self, make_client, admin, roles):
        """The PATCH read the role before the delete committed: writing back every column would revive it."""
        role = roles["reader_nomi"]
        response = while_a_write_is_uncommitted(
            lambda: Role.objects.get(pk=role.pk).delete(),
            lambda: make_client(admin).patch(f"{ROLES}{role.id}/", {"name": "Renamed"}, format="json"),
        )
        assert response.status_code == 200, response.content
        assert Role.all_objects.get(pk=role.pk).delete_datetime is not None
        assert make_client(admin).get(f"{ROLES}{role.id}/").status_code == 404

    def test_full_admin_patches_a_role_merging_the_stored_flags(self, make_client, admin, roles):
        role = roles["reader_nomi"]
        response = make_client(admin).patch(f"{ROLES}{role.id}/", {"right_search_patients_by_ipp": True}, format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["right_read_patient_nominative"] is True
        assert body["right_search_patients_by_ipp"] is True
        assert body["name"] == "reader_nomi"
        assert body["help_text"] == [NOMI, IPP]
        role.refresh_from_db()
        assert role.right_read_patient_nominative and role.right_search_patients_by_ipp

    def test_full_payload_patch_as_the_portail_sends_it(self, make_client, admin, roles):
        role = roles["reader_nomi"]
        payload = flags(right_read_patient_pseudonymized=True) | {"name": "renamed reader"}
        response = make_client(admin).patch(f"{ROLES}{role.id}/", payload, format="json")
        assert response.status_code == 200
        role.refresh_from_db()
        assert role.name == "renamed reader"
        assert role.right_read_patient_pseudonymized and not role.right_read_patient_nominative

    def test_rename_only(self, make_client, admin, roles):
        role = roles["reader_nomi_ipp"]
        response = make_client(admin).patch(f"{ROLES}{role.id}/", {"name": "renamed"}, format="json")
        assert response.status_code == 200
        role.refresh_from_db()
        assert role.name == "renamed"
        assert role.right_search_patients_by_ipp and role.right_read_patient_nominative

    def test_keeping_its_own_name_is_not_a_duplicate(self, make_client, admin, roles):
        role = roles["reader_nomi"]
        response = make_client(admin).patch(f"{ROLES}{role.id}/", {"name": "reader_nomi"}, format="json")
        assert response.status_code == 200

    def test_renaming_to_another_roles_name_is_a_400(self, make_client, admin, roles):
        role = roles["reader_nomi"]
        response = make_client(admin).patch(f"{ROLES}{role.id}/", {"name": "reader_pseudo"}, format="json")
        assert response.status_code == 400
        assert response.json() == {"name": ["role with this name already exists."]}
        role.refresh_from_db()
        assert role.name == "reader_nomi"

    @pytest.mark.parametrize(
        "archetype, patch, message",
        [
            ("reader_pseudo", {"right_export_csv_xlsx_nominative": True}, ERR_PSEUDO_EXPORT),
            ("reader_nomi_ipp", {"right_read_patient_nominative": False}, ERR_IPP),
            ("admin_manager", {"right_manage_users": False}, ERR_MANAGE),
            ("reader_nomi", {"right_manage_data_accesses_inferior_levels": True}, ERR_MANAGE),
            ("full_admin", {"right_read_datalabs": False}, ERR_FULL_ADMIN),
            ("reader_nomi", {"right_full_admin": True}, ERR_FULL_ADMIN),
        ],
    )
    def test_a_patch_making_the_role_inconsistent_is_a_400_and_nothing_changes(
        self, make_client, admin, roles, archetype, patch, message
    ):
        role = roles[archetype]
        before = {flag: getattr(role, flag) for flag in RIGHT_FLAGS}
        response = make_client(admin).patch(f"{ROLES}{role.id}/", patch | {"name": "changed name"}, format="json")
        assert response.status_code == 400
        assert response.json() == {"error": message}
        role.refresh_from_db()
        assert {flag: getattr(role, flag) for flag in RIGHT_FLAGS} == before
        assert role.name == ("Full Admin" if archetype == "full_admin" else archetype)

    def test_non_full_admins_are_refused(self, make_client, admin_manager, reader, roles):
        role = roles["reader_nomi"]
        for user in (admin_manager, reader):
            response = make_client(user).patch(f"{ROLES}{role.id}/", {"name": "hijacked"}, format="json")
            assert response.status_code == 403
        role.refresh_from_db()
        assert role.name == "reader_nomi"

    def test_anonymous_is_refused(self, anonymous, roles):
        assert anonymous.patch(f"{ROLES}{roles['reader_nomi'].id}/", {"name": "x"}, format="json").status_code == 403

    def test_put_is_refused(self, make_client, admin, roles):
        role = roles["reader_nomi"]
        response = make_client(admin).put(
            f"{ROLES}{role.id}/", flags(right_read_patient_nominative=True) | {"name": "put"}, format="json"
        )
        assert response.status_code == 405
        role.refresh_from_db()
        assert role.name == "reader_nomi"


# -------------------------------------------------------------------------------------------------- delete
class TestDelete:
    def test_full_admin_role_cannot_be_deleted(self, make_client, admin, roles):
        extra = RoleFactory(name="unused super user", **{flag: True for flag in RIGHT_FLAGS})
        response = make_client(admin).delete(f"{ROLES}{extra.id}/")
        assert response.status_code == 403
        assert response.json() == {"error": "Cannot delete the Full Admin role"}
        assert Role.objects.filter(pk=extra.pk).exists()

    def test_full_admin_role_attached_to_accesses_reports_the_full_admin_reason(self, make_client, admin, roles):
        response = make_client(admin).delete(f"{ROLES}{roles['full_admin'].id}/")
        assert response.status_code == 403
        assert response.json() == {"error": "Cannot delete the Full Admin role"}

    def test_role_attached_to_a_valid_access_cannot_be_deleted(self, make_client, admin, reader, roles):
        response = make_client(admin).delete(f"{ROLES}{roles['reader_nomi'].id}/")
        assert response.status_code == 403
        assert response.json() == {"error": "This role is attached to existing accesses"}
        assert Role.objects.filter(pk=roles["reader_nomi"].pk).exists()

    def test_role_attached_to_an_ended_access_cannot_be_deleted(self, make_client, admin, roles, tree):
        access = grant(UserFactory(), roles["reader_pseudo"], tree[1])
        Access.objects.filter(pk=access.pk).update(
            start_datetime=timezone.now() - timedelta(days=10), end_datetime=timezone.now() - timedelta(days=5)
        )
        response = make_client(admin).delete(f"{ROLES}{roles['reader_pseudo'].id}/")
        assert response.status_code == 403
        assert response.json() == {"error": "This role is attached to existing accesses"}

    def test_role_attached_only_to_a_deleted_access_is_deletable(self, make_client, admin, roles, tree):
        grant(UserFactory(), roles["reader_pseudo"], tree[1]).delete()
        assert make_client(admin).delete(f"{ROLES}{roles['reader_pseudo'].id}/").status_code == 204

    def test_unused_role_is_soft_deleted(self, make_client, admin, roles):
        role = roles["jupyter_pseudo"]
        client = make_client(admin)
        response = client.delete(f"{ROLES}{role.id}/")
        assert response.status_code == 204
        assert not response.content
        assert not Role.objects.filter(pk=role.pk).exists()
        stored = Role.all_objects.get(pk=role.pk)
        assert stored.delete_datetime is not None
        assert client.get(f"{ROLES}{role.id}/").status_code == 404
        assert "jupyter_pseudo" not in names_of(client.get(f"{ROLES}?limit=-1"))

    def test_non_full_admins_are_refused(self, make_client, admin_manager, reader, roles):
        role = roles["jupyter_pseudo"]
        for user in (admin_manager, reader):
            assert make_client(user).delete(f"{ROLES}{role.id}/").status_code == 403
        assert Role.objects.filter(pk=role.pk).exists()

    def test_anonymous_is_refused(self, anonymous, roles):
        assert anonymous.delete(f"{ROLES}{roles['jupyter_pseudo'].id}/").status_code == 403
        assert Role.objects.filter(pk=roles["jupyter_pseudo"].pk).exists()


# ------------------------------------------------------------------------------------------------- holders
def holder_access(user, role, perimeter, *, start: datetime, end: datetime) -> Access:
    access = grant(user, role, perimeter)
    Access.objects.filter(pk=access.pk).update(start_datetime=start, end_datetime=end)
    return access


@pytest.fixture
def holders(roles, tree):
    """Three current holders of `reader_nomi_pseudo`, one ended, one future, one deleted access."""
    role = roles["reader_nomi_pseudo"]
    now = timezone.now()
    start = datetime(2025, 1, 1, tzinfo=UTC)
    end = datetime(2099, 6, 30, 12, 30, tzinfo=UTC)
    people = {
        "alice": UserFactory(username="4000001", firstname="Alice", lastname="MARTIN", email="alice@example.org"),
        "bob": UserFactory(username="4000002", firstname="Bob", lastname="DURAND", email="bob@example.org"),
        "chloe": UserFactory(username="4000003", firstname="Chloé", lastname="BERNARD", email="chloe@example.org"),
        "ended": UserFactory(username="4000004", firstname="Ed", lastname="ENDED"),
        "future": UserFactory(username="4000005", firstname="Fu", lastname="FUTURE"),
        "deleted": UserFactory(username="4000006", firstname="Del", lastname="DELETED"),
    }
    holder_access(people["alice"], role, tree[1], start=start, end=end)
    holder_access(people["bob"], role, tree[4], start=start, end=end)
    holder_access(people["chloe"], role, tree[10], start=start, end=end)
    holder_access(people["ended"], role, tree[2], start=start, end=now - timedelta(hours=1))
    holder_access(people["future"], role, tree[2], start=now + timedelta(days=1), end=end)
    holder_access(people["deleted"], role, tree[2], start=start, end=end).delete()
    return {"role": role, **people}


def users_url(role, query: str = "") -> str:
    return f"{ROLES}{role.id}/users/{'?' + query if query else ''}"


class TestHolders:
    def test_no_holder_is_a_204_with_an_empty_body(self, make_client, admin, roles):
        response = make_client(admin).get(users_url(roles["jupyter_pseudo"], "page=1&order=lastname"))
        assert response.status_code == 204
        assert response.content == b""

    def test_items_shape_with_python_style_dates(self, make_client, admin, holders):
        response = make_client(admin).get(users_url(holders["role"], "page=1&order=lastname"))
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert body["count"] == 3
        assert [item["lastname"] for item in body["results"]] == ["BERNARD", "DURAND", "MARTIN"]
        for item in body["results"]:
            assert set(item) == HOLDER_KEYS
        alice = body["results"][2]
        assert alice == {
            "provider_username": "4000001",
            "firstname": "Alice",
            "lastname": "MARTIN",
            "email": "alice@example.org",
            "perimeter": "P1",
            "start_datetime": "2025-01-01 00:00:00+00:00",
            "end_datetime": "2099-06-30 12:30:00+00:00",
        }

    def test_default_order_is_lastname(self, make_client, admin, holders):
        response = make_client(admin).get(users_url(holders["role"]))
        assert [item["lastname"] for item in response.json()["results"]] == ["BERNARD", "DURAND", "MARTIN"]

    @pytest.mark.parametrize(
        "order, expected",
        [
            ("-lastname", ["MARTIN", "DURAND", "BERNARD"]),
            ("firstname", ["MARTIN", "DURAND", "BERNARD"]),
            ("-firstname", ["BERNARD", "DURAND", "MARTIN"]),
            ("perimeter", ["MARTIN", "BERNARD", "DURAND"]),  # P1, P10, P4
            ("-username", ["BERNARD", "DURAND", "MARTIN"]),
            ("email", ["MARTIN", "DURAND", "BERNARD"]),
        ],
    )
    def test_order(self, make_client, admin, holders, order, expected):
        response = make_client(admin).get(users_url(holders["role"], f"order={order}"))
        assert response.status_code == 200
        assert [item["lastname"] for item in response.json()["results"]] == expected

    def test_order_by_dates(self, make_client, admin, holders, tree):
        late = UserFactory(username="4000007", firstname="Zoe", lastname="ZED")
        holder_access(
            late,
            holders["role"],
            tree[3],
            start=datetime(2025, 6, 1, tzinfo=UTC),
            end=datetime(2099, 12, 31, tzinfo=UTC),
        )
        client = make_client(admin)

        def lastnames(order: str) -> list[str]:
            return [
                item["lastname"] for item in client.get(users_url(holders["role"], f"order={order}")).json()["results"]
            ]

        assert lastnames("-start_datetime")[0] == "ZED"
        assert lastnames("start_datetime")[-1] == "ZED"
        assert lastnames("-end_datetime")[0] == "ZED"
        assert lastnames("end_datetime")[-1] == "ZED"

    @pytest.mark.parametrize(
        "name, expected",
        [
            ("mart", ["MARTIN"]),  # last name, case-insensitive
            ("BOB", ["DURAND"]),  # first name
            ("4000003", ["BERNARD"]),  # username
            ("400000", ["BERNARD", "DURAND", "MARTIN"]),
        ],
    )
    def test_filter_by_name(self, make_client, admin, holders, name, expected):
        response = make_client(admin).get(users_url(holders["role"], f"order=lastname&filter_by_name={name}"))
        assert response.status_code == 200
        assert [item["lastname"] for item in response.json()["results"]] == expected

    def test_filter_matching_nobody_is_a_204(self, make_client, admin, holders):
        response = make_client(admin).get(users_url(holders["role"], "filter_by_name=nobody-like-this"))
        assert response.status_code == 204
        assert response.content == b""

    @pytest.mark.parametrize("order", ["age", "-", "profile__user__lastname", "lastname,firstname"])
    def test_invalid_order_is_a_400(self, make_client, admin, holders, order):
        assert make_client(admin).get(users_url(holders["role"], f"order={order}")).status_code == 400

    def test_ended_future_and_deleted_accesses_are_not_listed(self, make_client, admin, holders):
        results = make_client(admin).get(users_url(holders["role"], "limit=-1")).json()["results"]
        listed = {item["provider_username"] for item in results}
        assert listed == {"4000001", "4000002", "4000003"}

    def test_limit_offset_pagination_and_page_ignored(self, make_client, admin, holders):
        client = make_client(admin)
        body = client.get(users_url(holders["role"], "page=2&order=lastname&limit=2")).json()
        assert body["count"] == 3
        assert [item["lastname"] for item in body["results"]] == ["BERNARD", "DURAND"]
        assert body["next"] is not None
        body = client.get(users_url(holders["role"], "order=lastname&limit=2&offset=2")).json()
        assert [item["lastname"] for item in body["results"]] == ["MARTIN"]

    def test_access_managers_may_list_holders(self, make_client, admin_manager, data_manager, holders):
        for user in (admin_manager, data_manager):
            response = make_client(user).get(users_url(holders["role"]))
            assert response.status_code == 200
            assert response.json()["count"] == 3

    def test_other_users_are_refused(self, make_client, reader, holders, roles, root):
        user_manager = UserFactory()
        grant(user_manager, RoleFactory(name="users only", right_manage_users=True), root)
        for user in (reader, user_manager, UserFactory()):
            assert make_client(user).get(users_url(holders["role"])).status_code == 403

    def test_anonymous_is_refused(self, anonymous, holders):
        assert anonymous.get(users_url(holders["role"])).status_code == 403

    def test_unknown_role_is_a_404(self, make_client, admin):
        assert make_client(admin).get(f"{ROLES}987654/users/").status_code == 404

    def test_manager_with_an_expired_access_is_refused(self, make_client, roles, holders, root):
        user = UserFactory()
        access = grant(user, roles["admin_manager"], root)
        Access.objects.filter(pk=access.pk).update(end_datetime=timezone.now() - timedelta(minutes=1))
        assert make_client(user).get(users_url(holders["role"])).status_code == 403

    def test_manager_with_an_inactive_profile_is_refused(self, make_client, roles, holders, root):
        user = UserFactory()
        grant(user, roles["admin_manager"], root)
        Profile.objects.filter(user=user).update(is_active=False)
        assert make_client(user).get(users_url(holders["role"])).status_code == 403


# ---------------------------------------------------------------------------------------------- assignable
class TestAssignable:
    def test_missing_perimeter_id_is_a_400(self, make_client, admin_manager):
        response = make_client(admin_manager).get(f"{ROLES}assignable/")
        assert response.status_code == 400
        assert response.json() == {"error": "Missing parameter: `perimeter_id`"}

    @pytest.mark.parametrize("perimeter_id", ["123456", "abc"])
    def test_unknown_perimeter_is_a_404(self, make_client, admin_manager, perimeter_id):
        response = make_client(admin_manager).get(f"{ROLES}assignable/?perimeter_id={perimeter_id}&limit=100")
        assert response.status_code == 404

    def test_admin_access_manager_on_the_root_assigns_data_roles_as_a_bare_array(
        self, make_client, admin_manager, roles
    ):
        response = make_client(admin_manager).get(f"{ROLES}assignable/?perimeter_id=0&limit=100")
        assert response.status_code == 200
        body = response.json()
        assert isinstance(body, list)
        assert all(set(item) == ROLE_KEYS for item in body)
        assert sorted(item["name"] for item in body) == [
            "data_manager",
            "data_manager_inf",
            "data_manager_same",
            "jupyter_pseudo",
            "reader_nomi",
            "reader_nomi_csv",
            "reader_nomi_ipp",
            "reader_nomi_pseudo",
            "reader_pseudo",
        ]

    def test_full_admin_assigns_every_role(self, make_client, admin, roles):
        body = make_client(admin).get(f"{ROLES}assignable/?perimeter_id=13").json()
        assert sorted(item["name"] for item in body) == sorted(role.name for role in roles.values())


# --------------------------------------------------------------------------------------------- request log
class TestRequestLog:
    def test_post_patch_and_delete_are_recorded(self, make_client, admin):
        client = make_client(admin)
        RequestLog.objects.all().delete()
        created = client.post(ROLES, flags(right_read_patient_nominative=True) | {"name": "Logged"}, format="json")
        role_id = created.json()["id"]
        client.patch(f"{ROLES}{role_id}/", {"name": "Logged again"}, format="json")
        client.delete(f"{ROLES}{role_id}/")
        logs = list(RequestLog.objects.order_by("id"))
        assert [(log.method, log.path, log.status_code) for log in logs] == [
            ("POST", ROLES, 201),
            ("PATCH", f"{ROLES}{role_id}/", 200),
            ("DELETE", f"{ROLES}{role_id}/", 204),
        ]
        for log in logs:
            assert log.user_id == admin.pk
            assert log.username_persistent == "admin0001"
        assert '"name":"Logged"' in logs[0].data

    def test_refused_writes_are_recorded_and_reads_are_not(self, make_client, admin, admin_manager, roles):
        RequestLog.objects.all().delete()
        make_client(admin).get(ROLES)
        make_client(admin).get(f"{ROLES}{roles['reader_nomi'].id}/")
        assert not RequestLog.objects.exists()
        make_client(admin).post(ROLES, flags(right_search_patients_by_ipp=True) | {"name": "bad"}, format="json")
        make_client(admin_manager).delete(f"{ROLES}{roles['reader_nomi'].id}/")
        logs = list(RequestLog.objects.order_by("id"))
        assert [(log.method, log.status_code) for log in logs] == [("POST", 400), ("DELETE", 403)]
        assert logs[1].username_persistent == "amanager1"
