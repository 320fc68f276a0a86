"""Rights on cohorts (spec 02 §11): `cohort-rights/`, and cohort ids accepted by `patient-data/read`."""

from __future__ import annotations

import pytest
from django.utils import timezone

from accesses.models import Perimeter
from accesses.services.perimeter_tree import rebuild_closure
from cohort.services.perimeter_rights import check_reading
from cohort.tests.builders import cohort_of, measure_of, snapshot_of
from tests.factories import PerimeterFactory, RoleFactory, UserFactory, grant

NO_RIGHTS = dict.fromkeys(
    (
        "read_patient_nomi",
        "read_patient_pseudo",
        "export_csv_xlsx_nomi",
        "export_jupyter_nomi",
        "export_jupyter_pseudo",
    ),
    False,
)


@pytest.fixture
def hospital(db):
    """A hospital (cohort id 100) with two units (101, 102)."""
    root = PerimeterFactory(id=1, cohort_id="100", level=1)
    units = [PerimeterFactory(id=i, cohort_id=str(99 + i), parent=root, level=2) for i in (2, 3)]
    rebuild_closure()
    return root, *units


@pytest.fixture
def researcher(db):
    return UserFactory()


def cohort_on(owner, *cohort_ids: str, group_id: str):
    return cohort_of(measure_of(snapshot_of(owner, *cohort_ids)), status="finished", group_id=group_id)


def rights_of(client, *group_ids: str):
    return client.get(f"/cohort/cohorts/cohort-rights/?group_id={','.join(group_ids)}")


class TestCohortRights:
    def test_nominative_reader_on_the_hospital_reads_its_units(self, make_client, hospital, researcher):
        grant(
            researcher,
            RoleFactory(right_read_patient_nominative=True, right_export_jupyter_pseudonymized=True),
            hospital[0],
        )
        cohort_on(researcher, "101", "102", group_id="g1")
        response = rights_of(make_client(researcher), "g1")
        assert response.status_code == 200
        assert response.json() == [
            {
                "cohort_id": "g1",
                "rights": {
                    **NO_RIGHTS,
                    "read_patient_nomi": True,
                    "read_patient_pseudo": True,
                    "export_jupyter_pseudo": True,
                },
            }
        ]

    def test_a_right_must_cover_every_perimeter_of_the_cohort(self, make_client, hospital, researcher):
        grant(researcher, RoleFactory(right_read_patient_nominative=True), hospital[1])
        grant(researcher, RoleFactory(right_read_patient_pseudonymized=True), hospital[2])
        cohort_on(researcher, "101", "102", group_id="g1")
        cohort_on(researcher, "101", group_id="g2")
        body = {item["cohort_id"]: item["rights"] for item in rights_of(make_client(researcher), "g1", "g2").json()}
        assert body["g1"] == {**NO_RIGHTS, "read_patient_pseudo": True}
        assert body["g2"] == {**NO_RIGHTS, "read_patient_nomi": True, "read_patient_pseudo": True}

    def test_rights_on_a_unit_do_not_climb_to_the_hospital(self, make_client, hospital, researcher):
        grant(researcher, RoleFactory(right_read_patient_nominative=True), hospital[1])
        cohort_on(researcher, "100", group_id="g1")
        assert rights_of(make_client(researcher), "g1").json()[0]["rights"] == NO_RIGHTS

    def test_a_cohort_without_known_perimeters_gets_no_rights(self, make_client, hospital, researcher):
        grant(researcher, RoleFactory(right_read_patient_nominative=True), hospital[0])
        cohort_on(researcher, "999999", group_id="g1")
        cohort_on(researcher, group_id="g2")
        body = rights_of(make_client(researcher), "g1", "g2").json()
        assert [item["rights"] for item in body] == [NO_RIGHTS, NO_RIGHTS]

    def test_other_users_cohorts_are_not_found(self, make_client, hospital, researcher):
        grant(researcher, RoleFactory(right_read_patient_nominative=True), hospital[0])
        cohort_on(UserFactory(), "101", group_id="theirs")
        response = rights_of(make_client(researcher), "theirs")
        assert response.status_code == 404
        assert response.json() == {"detail": "No cohorts found. The provided `group_id`s are not valid"}

    def test_a_user_without_valid_access_is_told_so(self, make_client, hospital, researcher):
        cohort_on(researcher, "101", group_id="g1")
        response = rights_of(make_client(researcher), "g1")
        assert response.status_code == 404
        assert response.json() == {"detail": f"The user `{researcher}` has no valid accesses"}

    @pytest.mark.parametrize("query", ["", "?group_id=", "?group_id=,,"])
    def test_group_ids_are_required(self, make_client, researcher, query):
        assert make_client(researcher).get(f"/cohort/cohorts/cohort-rights/{query}").status_code == 400

    def test_anonymous_is_refused(self, anonymous):
        assert anonymous.get("/cohort/cohorts/cohort-rights/?group_id=1").status_code == 403


class TestReadCheckOfCohorts:
    def test_patient_data_read_accepts_a_cohort_group_id(self, make_client, hospital, researcher):
        grant(researcher, RoleFactory(right_read_patient_pseudonymized=True), hospital[1])
        cohort_on(researcher, "101", group_id="555")
        response = make_client(researcher).get("/accesses/perimeters/patient-data/read/?cohort_ids=555&mode=max")
        assert response.status_code == 200, response.content
        assert response.json()["allow_read_patient_data_nomi"] is False

    def test_a_cohort_on_unreadable_perimeters_is_refused(self, make_client, hospital, researcher):
        grant(researcher, RoleFactory(right_read_patient_nominative=True), hospital[1])
        cohort_on(researcher, "102", group_id="556")
        response = make_client(researcher).get("/accesses/perimeters/patient-data/read/?cohort_ids=556&mode=max")
        assert response.status_code == 404


class TestActiveJobs:
    def test_counts_every_users_running_cohorts(self, make_client, researcher):
        measure = measure_of(snapshot_of(UserFactory(), "1"))
        for status in ("new", "pending", "started", "validated", "long_pending", "finished", "failed"):
            cohort_of(measure, status=status)
        response = make_client(researcher).get("/cohort/cohorts/jobs/active/")
        assert response.status_code == 200
        assert response.json() == {"jobs_count": 4}

    def test_needs_authentication(self, anonymous):
        assert anonymous.get("/cohort/cohorts/jobs/active/").status_code == 403


class TestReadingCheck:
    """What a count or a cohort creation needs (spec 02 §11.3), as the submission task asks it."""

    def test_a_reader_of_the_hospital_reads_its_units_nominatively(self, hospital, researcher):
        grant(researcher, RoleFactory(right_read_patient_nominative=True), hospital[0])
        check = check_reading(researcher, ["101", "102"])
        assert (check.allowed, check.pseudonymised, check.missing) == (True, False, [])

    def test_pseudonymised_where_nominative_reading_does_not_cover_every_perimeter(self, hospital, researcher):
        grant(researcher, RoleFactory(right_read_patient_pseudonymized=True), hospital[0])
        grant(researcher, RoleFactory(right_read_patient_nominative=True), hospital[1])
        check = check_reading(researcher, ["101", "102"])
        assert (check.allowed, check.pseudonymised) == (True, True)

    def test_deleted_and_unknown_perimeters_are_never_readable(self, hospital, researcher):
        grant(researcher, RoleFactory(right_read_patient_nominative=True), hospital[0])
        Perimeter.all_objects.filter(pk=hospital[1].pk).update(delete_datetime=timezone.now())
        check = check_reading(researcher, ["101", "102", "999"])
        assert (check.allowed, check.missing) == (False, ["101", "999"])
