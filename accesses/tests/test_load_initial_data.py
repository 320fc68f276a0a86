"""`manage.py load_initial_data --perimeters-conf FILE`: perimeter tree, admin user, machine users."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from accesses.models import RIGHT_FLAGS, Access, Perimeter, Profile, Role
from accesses.services.initial_data import PERIMETERS_HEADER
from admin_cohort.env import BASE_DIR
from admin_cohort.models import User
from tests.factories import PerimeterFactory

EXAMPLE = BASE_DIR / ".setup" / "perimeters.example.csv"
HEADER = ";".join(PERIMETERS_HEADER)
ROOT_ID = 8312002244


def load(path: Path) -> str:
    out = StringIO()
    call_command("load_initial_data", perimeters_conf=path, stdout=out, stderr=StringIO())
    return out.getvalue()


def csv_file(tmp_path: Path, *rows: str, header: str = HEADER) -> Path:
    path = tmp_path / "perimeters.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def login(client, username: str, password: str):
    return client.post(
        "/auth/login/",
        {"username": username, "password": password},
        format="multipart",
        HTTP_AUTHORIZATIONMETHOD="JWT",
    )


@pytest.mark.django_db
def test_example_file_loads_the_tree_with_computed_ancestry():
    output = load(EXAMPLE)

    assert "Perimeters: 31 created, 0 updated" in output
    assert Perimeter.objects.count() == 31
    root = Perimeter.objects.get(pk=ROOT_ID)
    assert (root.parent_id, root.level, root.above_levels_ids) == (None, 1, None)
    assert root.inferior_levels_ids == "8312016801,8312016802,8312016803"
    assert root.full_path == "APHP-ASSISTANCE PUBLIQUE AP-HP"
    assert root.local_id == str(ROOT_ID) and root.cohort_id == "1001"
    unit = Perimeter.objects.get(pk=8312049107)
    assert unit.name == "Neuroradiologie" and unit.type_source_value == "Unité Fonctionnelle (UF)"
    assert unit.level == 5
    assert unit.above_levels_ids == "8312002244,8312016802,8312027103,8312038105"  # root first
    assert unit.inferior_levels_ids is None
    assert unit.full_path.startswith("APHP-ASSISTANCE PUBLIQUE AP-HP/GH-SORBONNE-GH APHP.Sorbonne Université/")
    assert unit.full_path.endswith("/PSL-NEURO-DMU Neurosciences/UF-4102-Neuroradiologie")
    pole = Perimeter.objects.get(pk=8312038105)
    assert (pole.level, pole.inferior_levels_ids) == (4, "8312049106,8312049107")
    assert set(Perimeter.objects.values_list("level", flat=True)) == {1, 2, 3, 4, 5}


@pytest.mark.django_db
def test_admin_gets_a_full_admin_access_on_the_root_for_a_year(anonymous):
    output = load(EXAMPLE)

    assert "Successfully added user 'admin' with 'Full Admin' role" in output
    admin = User.objects.get(pk="admin")
    assert (admin.firstname, admin.lastname, admin.email) == ("Admin", "ADMIN", "admin@backend.fr")
    assert not admin.password.startswith("sha256") and admin.check_password("admin")
    profile = Profile.objects.get(user=admin)
    assert (profile.source, profile.is_active) == ("Manual", True)
    role = Role.objects.get(name="Full Admin")
    assert all(getattr(role, flag) for flag in RIGHT_FLAGS)
    access = Access.objects.get(profile=profile)
    assert (access.role, access.perimeter_id) == (role, ROOT_ID)
    assert access.is_valid
    assert abs(access.end_datetime - access.start_datetime - timedelta(days=365)) < timedelta(seconds=1)
    assert access.start_datetime <= timezone.now()

    response = login(anonymous, "admin", "admin")
    assert response.status_code == 200, response.content


@pytest.mark.django_db
def test_admin_variables_are_honoured(settings):
    settings.ADMIN_USERNAME = "4000001"
    settings.ADMIN_PASSWORD = "s3cret-pass"
    settings.ADMIN_FIRSTNAME, settings.ADMIN_LASTNAME, settings.ADMIN_EMAIL = "Marie", "CURIE", "mc@example.org"

    assert "Successfully added user '4000001' with 'Full Admin' role" in load(EXAMPLE)
    chief = User.objects.get(pk="4000001")
    assert (chief.firstname, chief.lastname, chief.email) == ("Marie", "CURIE", "mc@example.org")
    assert chief.check_password("s3cret-pass")
    assert not User.objects.filter(pk="admin").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("username", ["SPARK_JOB_SERVER", "SOLR_ETL", "ROLLOUT_PIPELINE"])
def test_machine_users_exist_without_access_and_cannot_log_in(anonymous, username):
    load(EXAMPLE)

    machine = User.objects.get(pk=username)
    assert not machine.has_usable_password()
    assert Profile.objects.filter(user=machine, is_active=True).exists()
    assert not Access.objects.filter(profile__user=machine).exists()
    for password in ("", "1234", "admin", "!"):
        response = login(anonymous, username, password)
        assert response.status_code in (400, 401), response.content
        assert "access_token" not in response.json()


@pytest.mark.django_db
def test_the_rollout_user_is_set_up_only_with_its_token(settings, anonymous):
    settings.ROLLOUT_TOKEN = ""
    load(EXAMPLE)
    assert not User.objects.filter(pk="ROLLOUT_PIPELINE").exists()
    settings.ROLLOUT_TOKEN = "rollout-static-token"
    load(EXAMPLE)
    response = anonymous.post(
        "/maintenances/",
        {
            "subject": "Upgrade",
            "message": "Read-only",
            "start_datetime": "2099-01-01T00:00:00Z",
            "end_datetime": "2099-01-01T01:00:00Z",
        },
        format="json",
        HTTP_AUTHORIZATION="Bearer rollout-static-token",
    )
    assert response.status_code == 201, response.content


@pytest.mark.django_db
def test_second_run_changes_nothing():
    load(EXAMPLE)
    perimeters_before = list(Perimeter.objects.order_by("id").values())
    admin_password = User.objects.get(pk="admin").password

    output = load(EXAMPLE)

    assert "Perimeters: 0 created, 0 updated; admin user already set up" in output
    assert "Nothing changed." in output
    assert "Successfully added" not in output
    assert list(Perimeter.objects.order_by("id").values()) == perimeters_before
    assert (
        Access.objects.count() == 1 and Role.objects.count() == 1 and Profile.objects.count() == 4
    )  # admin and 3 machine users
    assert User.objects.get(pk="admin").password == admin_password


def renamed(tmp_path: Path, old: str, new: str) -> Path:
    path = tmp_path / "perimeters.csv"
    path.write_text(EXAMPLE.read_text(encoding="utf-8").replace(old, new), encoding="utf-8")
    return path


@pytest.mark.django_db
def test_a_changed_file_updates_only_what_changed(tmp_path):
    load(EXAMPLE)

    output = load(renamed(tmp_path, "Neuroradiologie;", "Neuroradiologie diagnostique;"))

    assert "Perimeters: 0 created, 1 updated; admin user already set up" in output
    assert Perimeter.objects.get(pk=8312049107).name == "Neuroradiologie diagnostique"


@pytest.mark.django_db
def test_renaming_a_perimeter_updates_the_paths_below_it(tmp_path):
    load(EXAMPLE)

    output = load(renamed(tmp_path, "Hôpital Cochin;", "Hôpital Cochin Port-Royal;"))

    assert "Perimeters: 0 created, 5 updated" in output  # the hospital, its 2 poles and their 2 units
    assert "/CCH-Hôpital Cochin Port-Royal/CCH-RADIUS-" in Perimeter.objects.get(pk=8312049104).full_path


@pytest.mark.django_db
def test_an_expired_admin_access_is_granted_again():
    load(EXAMPLE)
    yesterday = timezone.now() - timedelta(days=1)
    Access.objects.update(start_datetime=yesterday - timedelta(days=365), end_datetime=yesterday)

    output = load(EXAMPLE)

    assert "Successfully added user 'admin' with 'Full Admin' role" in output
    assert Access.objects.valid_now().filter(profile__user_id="admin").count() == 1


ROOT = "1;Root;R;AP-HP;APHP;;;;;;"
CHILD = "2;Child;C;Hôpital;H1;;;1;;;"

BAD_FILES = {
    "unknown header column": (
        (
            "id;name;short_name;type;source_value;local_id;cohort_id;parent_id;level;"
            "above_levels_ids;inferior_levels_ids"
        ),
        [ROOT],
        "line 1",
    ),
    "missing header column": ("id;name;parent_id", ["1;Root;"], "line 1"),
    "comma-separated file": (HEADER.replace(";", ","), [ROOT.replace(";", ",")], "line 1"),
    "two roots": (HEADER, [ROOT, CHILD, "3;Other root;O;AP-HP;X;;;;;;"], "lines 2, 4"),
    "zero roots (cycle)": (HEADER, ["1;A;A;AP-HP;A;;;2;;;", "2;B;B;AP-HP;B;;;1;;;"], "line 2"),
    "unknown parent": (HEADER, [ROOT, CHILD, "3;Orphan;O;Pôle/DMU;P;;;42;;;"], "line 4"),
    "cycle under a root": (HEADER, [ROOT, "2;A;A;X;A;;;3;;;", "3;B;B;X;B;;;2;;;"], "line 3"),
    "self parent": (HEADER, [ROOT, "2;A;A;X;A;;;2;;;"], "line 3"),
    "non-integer id": (HEADER, [ROOT, "two;Child;C;Hôpital;H1;;;1;;;"], "line 3"),
    "empty id": (HEADER, [ROOT, ";Child;C;Hôpital;H1;;;1;;;"], "line 3"),
    "non-integer parent": (HEADER, [ROOT, "2;Child;C;Hôpital;H1;;;1.0;;;"], "line 3"),
    "non-integer level": (HEADER, [ROOT, "2;Child;C;Hôpital;H1;;;1;deux;;"], "line 3"),
    "non-integer ancestors": (HEADER, [ROOT, "2;Child;C;Hôpital;H1;;;1;;1,x;"], "line 3"),
    "duplicate id": (HEADER, [ROOT, CHILD, "2;Twin;T;Hôpital;H2;;;1;;;"], "line 4"),
    "duplicate local_id": (HEADER, [ROOT, "2;A;A;X;A;L;;1;;;", "3;B;B;X;B;L;;1;;;"], "line 4"),
    "missing field": (HEADER, [ROOT, "2;Child;C;Hôpital;H1;;;1;;"], "line 3"),
    "level contradicts the parents": (HEADER, [ROOT, "2;Child;C;Hôpital;H1;;;1;3;;"], "line 3"),
    "children contradict the parents": (HEADER, ["1;Root;R;AP-HP;APHP;;;;1;;2,3", CHILD], "line 2"),
    "no perimeter": (HEADER, [], "no perimeter"),
}


@pytest.mark.django_db
@pytest.mark.parametrize(("header", "rows", "blamed"), BAD_FILES.values(), ids=BAD_FILES.keys())
def test_a_bad_file_is_refused_naming_the_line_and_nothing_is_written(tmp_path, header, rows, blamed):
    with pytest.raises(CommandError) as refused:
        load(csv_file(tmp_path, *rows, header=header))

    assert blamed in str(refused.value)
    assert Perimeter.all_objects.count() == 0
    assert User.all_objects.count() == 0 and Role.all_objects.count() == 0 and Profile.all_objects.count() == 0


@pytest.mark.django_db
def test_a_local_id_held_by_another_perimeter_is_refused(tmp_path):
    PerimeterFactory(id=77, local_id="L1")

    with pytest.raises(CommandError, match="local_id 'L1' is already used by perimeter 77"):
        load(csv_file(tmp_path, "1;Root;R;AP-HP;APHP;L1;;;;;"))

    assert list(Perimeter.objects.values_list("id", flat=True)) == [77]
    assert not User.objects.exists()


@pytest.mark.django_db
def test_a_missing_file_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        load(tmp_path / "absent.csv")


@pytest.mark.django_db
def test_given_ancestry_columns_that_agree_are_accepted(tmp_path):
    """The format of the reference's sample: ancestry filled in, nearest ancestor first."""
    path = csv_file(
        tmp_path,
        "10;Group A;GRP-A;group;GA;10;100;;1;;20,30",
        "20;Site A1;SITE-A1;site;SA1;20;200;10;2;10;40",
        "30;Site A2;SITE-A2;site;SA2;30;300;10;2;10;",
        "40;Unit A1-x;UNIT-A1X;unit;UA1X;40;400;20;3;20,10;",
    )

    load(path)

    unit = Perimeter.objects.get(pk=40)
    assert (unit.level, unit.above_levels_ids, unit.full_path) == (3, "10,20", "GA-Group A/SA1-Site A1/UA1X-Unit A1-x")


@pytest.mark.django_db
def test_the_default_admin_password_is_flagged_in_production_mode(settings):
    errors = StringIO()
    call_command("load_initial_data", perimeters_conf=EXAMPLE, stdout=StringIO(), stderr=errors)
    assert "default password" in errors.getvalue()

    settings.ADMIN_USERNAME, settings.ADMIN_PASSWORD, settings.ADMIN_EMAIL = "4000002", "a-real-secret", "b@example.org"
    errors = StringIO()
    call_command("load_initial_data", perimeters_conf=EXAMPLE, stdout=StringIO(), stderr=errors)
    assert errors.getvalue() == ""
