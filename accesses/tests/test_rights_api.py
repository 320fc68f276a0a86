"""Rights catalogue API (spec 01 §8.3, §9.1, §9.2, §11.4; client contract RGT-1)."""

from __future__ import annotations

import pytest

from accesses.models import Right

pytestmark = pytest.mark.django_db

RIGHTS = "/accesses/rights/"
BEHAVIOUR_FLAGS = {"allow_edit_accesses_on_same_level", "allow_edit_accesses_on_inf_levels", "impact_inferior_levels"}

# §9.1: (name, label, category, is_global, depends_on), in catalogue order
CATALOGUE = [
    ("right_full_admin", "Administrateur", "Administration", True, None),
    ("right_manage_users", "Gérer la liste des utilisateurs", "Utilisateurs", True, None),
    (
        "right_manage_data_accesses_same_level",
        "Gérer les accès aux données patient d'un périmètre exclusivement",
        "Gestion des Accès Données",
        False,
        None,
    ),
    (
        "right_manage_data_accesses_inferior_levels",
        "Gérer les accès aux données patient des sous-périmètres exclusivement",
        "Gestion des Accès Données",
        False,
        None,
    ),
    (
        "right_manage_admin_accesses_same_level",
        "Gérer les accès administrateurs d'un périmètre exclusivement",
        "Gestion des Accès Administrateurs",
        False,
        None,
    ),
    (
        "right_manage_admin_accesses_inferior_levels",
        "Gérer les accès administrateurs des sous-périmètres exclusivement",
        "Gestion des Accès Administrateurs",
        False,
        None,
    ),
    (
        "right_read_patient_nominative",
        "Lecture de données patient nominatives",
        "Lecture de Données Patient",
        False,
        None,
    ),
    (
        "right_read_patient_pseudonymized",
        "Lecture de données patient pseudonymisées",
        "Lecture de Données Patient",
        False,
        None,
    ),
    ("right_search_patients_by_ipp", "Chercher les patients par IPP", "Recherche de Patients", True, None),
    (
        "right_search_patients_unlimited",
        "Chercher les patients sans limite de périmètre (PP)",
        "Recherche de Patients",
        True,
        None,
    ),
    (
        "right_search_opposed_patients",
        "Chercher les patients opposés à l'utilisation de leurs données pour la recherche",
        "Recherche de Patients",
        True,
        None,
    ),
    (
        "right_export_jupyter_nominative",
        "Exporter ses cohortes de patients sous forme nominative vers un environnement Jupyter",
        "Exports Jupyter",
        True,
        None,
    ),
    (
        "right_export_jupyter_pseudonymized",
        "Exporter ses cohortes de patients sous forme pseudonymisée vers un environnement Jupyter",
        "Exports Jupyter",
        True,
        None,
    ),
    (
        "right_export_csv_xlsx_nominative",
        "Exporter ses cohortes de patients sous forme nominative en format CSV-Excel",
        "Exports CSV-Excel",
        True,
        None,
    ),
    ("right_manage_datalabs", "Gérer la liste des datalabs", "Datalabs", True, None),
    ("right_read_datalabs", "Consulter la liste des datalabs", "Datalabs", True, "right_manage_datalabs"),
]


def expected_categories() -> list[dict]:
    categories: dict[str, dict] = {}
    for name, label, category, is_global, depends_on in CATALOGUE:
        entry = categories.setdefault(category, {"name": category, "is_global": is_global, "rights": []})
        entry["rights"].append({"name": name, "label": label, "depends_on": depends_on})
    return list(categories.values())


class TestCategories:
    def test_categories_in_catalogue_order(self, user_client):
        response = user_client.get(RIGHTS)
        assert response.status_code == 200
        body = response.json()
        assert isinstance(body, list)  # a bare array (RGT-1)
        # The 16 rights of §9.1 fall into 9 categories.
        assert [category["name"] for category in body] == [
            "Administration",
            "Utilisateurs",
            "Gestion des Accès Données",
            "Gestion des Accès Administrateurs",
            "Lecture de Données Patient",
            "Recherche de Patients",
            "Exports Jupyter",
            "Exports CSV-Excel",
            "Datalabs",
        ]
        assert sum(len(category["rights"]) for category in body) == 16
        assert body == expected_categories()

    def test_category_is_global_is_taken_from_its_first_right(self, user_client):
        body = user_client.get(RIGHTS).json()
        globality = {category["name"]: category["is_global"] for category in body}
        assert globality == {
            "Administration": True,
            "Utilisateurs": True,
            "Gestion des Accès Données": False,
            "Gestion des Accès Administrateurs": False,
            "Lecture de Données Patient": False,
            "Recherche de Patients": True,
            "Exports Jupyter": True,
            "Exports CSV-Excel": True,
            "Datalabs": True,
        }

    def test_category_is_global_follows_the_first_right_only(self, user_client):
        Right.objects.filter(name="right_manage_datalabs").update(is_global=False)
        body = user_client.get(RIGHTS).json()
        datalabs = next(category for category in body if category["name"] == "Datalabs")
        assert datalabs["is_global"] is False

    def test_datalabs_category_with_its_dependency(self, user_client):
        body = user_client.get(RIGHTS).json()
        assert body[-1] == {
            "name": "Datalabs",
            "is_global": True,
            "rights": [
                {"name": "right_manage_datalabs", "label": "Gérer la liste des datalabs", "depends_on": None},
                {
                    "name": "right_read_datalabs",
                    "label": "Consulter la liste des datalabs",
                    "depends_on": "right_manage_datalabs",
                },
            ],
        }

    def test_first_category_is_administration(self, user_client):
        assert user_client.get(RIGHTS).json()[0] == {
            "name": "Administration",
            "is_global": True,
            "rights": [{"name": "right_full_admin", "label": "Administrateur", "depends_on": None}],
        }

    def test_behaviour_flags_are_never_returned(self, user_client):
        body = user_client.get(RIGHTS).json()
        for category in body:
            assert set(category) == {"name", "is_global", "rights"}
            for right in category["rights"]:
                assert set(right) == {"name", "label", "depends_on"}
                assert not BEHAVIOUR_FLAGS & set(right)

    def test_query_parameters_are_ignored(self, user_client):
        assert user_client.get(f"{RIGHTS}?category=Datalabs&limit=1&name=x").json() == expected_categories()

    def test_deleted_rights_are_hidden(self, user_client):
        Right.objects.get(name="right_read_datalabs").delete()
        body = user_client.get(RIGHTS).json()
        assert [right["name"] for right in body[-1]["rights"]] == ["right_manage_datalabs"]

    def test_anonymous_is_refused(self, anonymous):
        assert anonymous.get(RIGHTS).status_code == 403


class TestRetrieve:
    def test_shape(self, user_client):
        right = Right.objects.get(name="right_read_datalabs")
        response = user_client.get(f"{RIGHTS}{right.id}/")
        assert response.status_code == 200
        assert response.json() == {
            "name": "right_read_datalabs",
            "label": "Consulter la liste des datalabs",
            "depends_on": "right_manage_datalabs",
            "category": "Datalabs",
            "is_global": True,
        }

    def test_each_row_of_the_catalogue(self, user_client):
        for name, label, category, is_global, depends_on in CATALOGUE:
            right = Right.objects.get(name=name)
            body = user_client.get(f"{RIGHTS}{right.id}/").json()
            assert body == {
                "name": name,
                "label": label,
                "depends_on": depends_on,
                "category": category,
                "is_global": is_global,
            }
            assert not BEHAVIOUR_FLAGS & set(body)

    def test_unknown_right_is_a_404(self, user_client):
        assert user_client.get(f"{RIGHTS}987654/").status_code == 404

    def test_anonymous_is_refused(self, anonymous):
        right = Right.objects.get(name="right_full_admin")
        assert anonymous.get(f"{RIGHTS}{right.id}/").status_code == 403


class TestWritesAreRefused:
    @pytest.fixture
    def admin_client(self, make_client, db):
        from accesses.tests.conftest import build_tree
        from tests.factories import UserFactory, full_admin_role, grant

        tree = build_tree({1: None})
        admin = UserFactory()
        grant(admin, full_admin_role(), tree[1])
        return make_client(admin)

    def test_post(self, admin_client, user_client, anonymous):
        payload = {"name": "right_new", "label": "New", "category": "New", "is_global": True}
        for client in (admin_client, user_client, anonymous):
            assert client.post(RIGHTS, payload, format="json").status_code in (403, 405)
        assert not Right.all_objects.filter(name="right_new").exists()
        assert Right.objects.count() == 16

    def test_put_patch_delete(self, admin_client, user_client):
        right = Right.objects.get(name="right_full_admin")
        for client in (admin_client, user_client):
            assert client.put(f"{RIGHTS}{right.id}/", {"label": "x"}, format="json").status_code in (403, 405)
            assert client.patch(f"{RIGHTS}{right.id}/", {"label": "x"}, format="json").status_code in (403, 405)
            assert client.delete(f"{RIGHTS}{right.id}/").status_code in (403, 405)
        assert admin_client.put(f"{RIGHTS}{right.id}/", {"label": "x"}, format="json").status_code == 405
        right.refresh_from_db()
        assert right.label == "Administrateur"
        assert right.delete_datetime is None
