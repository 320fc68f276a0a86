"""The rights an export needs (spec 02 §16.2.1, §16.3, §21.4).

Reading rights are held on perimeters and cover their descendants; they are required on EVERY perimeter the
source cohort was built on, whatever export right the user holds. Export rights are global.
"""

from __future__ import annotations

import pytest

from exports.models import Export
from exports.tests.conftest import EXPORTS, csv_body, hive_body
from tests.factories import PerimeterFactory, RoleFactory, UserFactory, grant

pytestmark = pytest.mark.django_db

READ_NOMI = {"right_read_patient_nominative": True}
READ_PSEUDO = {"right_read_patient_pseudonymized": True}
EXPORT_CSV = {"right_export_csv_xlsx_nominative": True}
JUPYTER_NOMI = {"right_export_jupyter_nominative": True}
JUPYTER_PSEUDO = {"right_export_jupyter_pseudonymized": True}


@pytest.fixture
def requester(hospital, make_client):
    """`requester((perimeter, flags), ...)`: a user holding these roles, and their client."""

    def make(*grants):
        user = UserFactory()
        for perimeter, flags in grants:
            grant(user, RoleFactory(**flags), perimeter)
        return user, make_client(user)

    return make


def refusal(response) -> str:
    assert response.status_code == 400, response.content
    assert Export.objects.count() == 0
    (message,) = response.json()
    return message


class TestReadingRights:
    def test_reading_on_the_hospital_covers_its_units(self, requester, hospital, make_cohort):
        user, client = requester((hospital[0], READ_NOMI | EXPORT_CSV))
        response = client.post(EXPORTS, csv_body(make_cohort(user, "101", "102")), format="json")
        assert response.status_code == 201, response.content

    def test_a_perimeter_the_user_cannot_read_refuses_the_export(self, requester, hospital, make_cohort):
        """The reference skipped perimeters without any reading right: the global export right was enough."""
        user, client = requester((hospital[1], READ_NOMI | EXPORT_CSV))
        response = client.post(EXPORTS, csv_body(make_cohort(user, "101", "102")), format="json")
        assert refusal(response) == (
            "Invalid export data: The user is missing `right_read_patient_nominative` on the following perimeters: [3]."
        )

    def test_an_export_right_without_any_reading_right_exports_nothing(self, requester, hospital, make_cohort):
        user, client = requester((PerimeterFactory(), EXPORT_CSV))
        response = client.post(EXPORTS, csv_body(make_cohort(user, "100")), format="json")
        assert refusal(response) == (
            "Invalid export data: The user is missing `right_read_patient_nominative` on the following perimeters: [1]."
        )

    def test_rights_on_a_unit_do_not_climb_to_the_hospital(self, requester, hospital, make_cohort):
        user, client = requester((hospital[1], READ_NOMI | EXPORT_CSV), (hospital[2], READ_NOMI))
        response = client.post(EXPORTS, csv_body(make_cohort(user, "100")), format="json")
        assert "`right_read_patient_nominative` on the following perimeters: [1]." in refusal(response)

    def test_a_nominative_export_needs_nominative_reading(self, requester, hospital, make_cohort):
        user, client = requester((hospital[0], READ_PSEUDO | EXPORT_CSV))
        response = client.post(EXPORTS, csv_body(make_cohort(user, "101")), format="json")
        assert "missing `right_read_patient_nominative` on the following perimeters: [2]." in refusal(response)

    def test_a_pseudonymised_export_needs_pseudonymised_reading(self, requester, hospital, make_cohort, datalab):
        """As specified: the nominative reading right alone does not satisfy a pseudonymised export."""
        user, client = requester((hospital[0], READ_NOMI | JUPYTER_PSEUDO))
        response = client.post(EXPORTS, hive_body(make_cohort(user, "101"), datalab), format="json")
        assert "missing `right_read_patient_pseudonymized` on the following perimeters: [2]." in refusal(response)

        user, client = requester((hospital[0], READ_PSEUDO | JUPYTER_PSEUDO))
        response = client.post(EXPORTS, hive_body(make_cohort(user, "101"), datalab), format="json")
        assert response.status_code == 201, response.content

    @pytest.mark.parametrize(
        ("perimeters", "message"),
        [
            (("101", "999"), "The source cohorts are built on unknown perimeters: [999]."),
            ((), "The source cohorts are built on no known perimeter"),
        ],
    )
    def test_unknown_perimeters_refuse_the_export(self, requester, hospital, make_cohort, perimeters, message):
        user, client = requester((hospital[0], READ_NOMI | EXPORT_CSV))
        cohort = make_cohort(user, "101")
        cohort.request_query_snapshot.perimeters_ids = list(perimeters)
        cohort.request_query_snapshot.save()
        assert refusal(client.post(EXPORTS, csv_body(cohort), format="json")) == f"Invalid export data: {message}"

    def test_an_administrators_transfer_checks_the_administrators_rights(
        self, requester, hospital, other, make_cohort, datalab
    ):
        """Transferring another user's cohort needs the requester's own reading rights, not the owner's."""
        _, client = requester((hospital[0], {"right_read_datalabs": True} | JUPYTER_PSEUDO), (hospital[1], READ_PSEUDO))
        response = client.post(EXPORTS, hive_body(make_cohort(other, "101", "102"), datalab), format="json")
        assert "missing `right_read_patient_pseudonymized` on the following perimeters: [3]." in refusal(response)


class TestExportRights:
    """The permission layer (§16.2.1): 403 with the web apps' French messages."""

    @pytest.mark.parametrize(
        ("flags", "body", "message"),
        [
            (READ_NOMI | JUPYTER_NOMI, "csv", "Vous n'avez pas le droit d'export CSV/Excel nominatif"),
            (READ_NOMI | EXPORT_CSV, "hive_nominative", "Vous n'avez pas le droit d'export Jupyter nominatif"),
            (READ_PSEUDO | JUPYTER_NOMI, "hive", "Vous n'avez pas le droit d'export Jupyter pseudonymisé"),
        ],
    )
    def test_the_export_right_of_the_format_is_required(
        self, requester, hospital, make_cohort, datalab, flags, body, message
    ):
        user, client = requester((hospital[0], flags))
        cohort = make_cohort(user, "101")
        payload = {
            "csv": csv_body(cohort),
            "hive": hive_body(cohort, datalab),
            "hive_nominative": hive_body(cohort, datalab, nominative=True),
        }[body]
        response = client.post(EXPORTS, payload, format="json")
        assert response.status_code == 403
        assert response.json() == {"detail": message}
        assert Export.objects.count() == 0

    def test_export_rights_are_global(self, requester, hospital, make_cohort):
        user, client = requester((hospital[1], READ_NOMI), (PerimeterFactory(), EXPORT_CSV))
        response = client.post(EXPORTS, csv_body(make_cohort(user, "101")), format="json")
        assert response.status_code == 201, response.content

    def test_expired_accesses_grant_nothing(self, requester, hospital, make_cohort):
        user, client = requester((hospital[0], READ_NOMI))
        grant(user, RoleFactory(**EXPORT_CSV), hospital[0], days=-1)
        response = client.post(EXPORTS, csv_body(make_cohort(user, "101")), format="json")
        assert response.status_code == 403
