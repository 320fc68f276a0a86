"""Export creation bodies refused before anything is stored (spec 02 §16.1-§16.2, §16.4.1, §21.18).

Every refusal answers 400 `["Invalid export data: <message>"]` (403 for the permission layer) and leaves the
database as it was: no export, table, cohort subset nor FHIR filter.
"""

from __future__ import annotations

import pytest

from cohort.models import CohortResult, FhirFilter, JobStatus
from exports.models import Export, ExportTable
from exports.tests.conftest import EXPORTS, csv_body, hive_body

pytestmark = pytest.mark.django_db

UNKNOWN = "6f1e2d3c-0000-4000-8000-000000000000"
REMOVED = object()


@pytest.fixture
def rows():
    """What a refused creation must leave untouched."""

    def count() -> tuple[int, ...]:
        return (
            Export.all_objects.count(),
            ExportTable.all_objects.count(),
            CohortResult.all_objects.count(),
            FhirFilter.all_objects.count(),
        )

    return count


@pytest.fixture
def refused(researcher_client, rows):
    """`refused(body)`: posts the body as the researcher, checks nothing was stored, returns the message."""

    def post(body, *, client=None, status: int = 400):
        before = rows()
        response = (client or researcher_client).post(EXPORTS, body, format="json")
        assert response.status_code == status, response.content
        assert rows() == before
        if status == 403:
            return response.json()["detail"]
        (message,) = response.json()
        assert message.startswith("Invalid export data: ")
        return message.removeprefix("Invalid export data: ")

    return post


@pytest.fixture
def cohort(researcher, make_cohort):
    return make_cohort(researcher)


def table(name: str = "person", cohort: CohortResult | None = None, **fields) -> dict:
    return {"table_name": name, "cohort_result_source": str(cohort.pk) if cohort else None, **fields}


def unusable_cohorts(owner, make_cohort) -> list[CohortResult]:
    """Finished cohorts the exporters cannot start from: no patient list, or no count to copy into a subset."""
    no_patient_list = make_cohort(owner, group_id="")
    no_count = make_cohort(owner, group_id="555")
    CohortResult.objects.filter(pk=no_count.pk).update(dated_measure=None)
    return [no_patient_list, no_count]


class TestShapes:
    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"output_format": REMOVED}, "output_format"),
            ({"output_format": "pdf"}, "output_format"),
            ({"export_tables": []}, "export_tables"),
            ({"export_tables": "person"}, "export_tables"),
            ({"export_tables": [{"cohort_result_source": None}]}, "export_tables[0].table_name"),
            ({"export_tables": [{"table_name": "x" * 56}]}, "export_tables[0].table_name"),
            ({"export_tables": [{"table_name": "person", "columns": "person_id"}]}, "export_tables[0].columns"),
            ({"export_tables": [{"table_name": "person", "columns": ["c" * 56]}]}, "export_tables[0].columns[0]"),
            (
                {"export_tables": [{"table_name": "person", "pivot_merge_ids": [{}]}]},
                "export_tables[0].pivot_merge_ids[0]",
            ),
            (
                {"export_tables": [{"table_name": "person", "cohort_result_source": "12"}]},
                "export_tables[0].cohort_result_source",
            ),
            ({"export_tables": [{"table_name": "person", "fhir_filter": "x"}]}, "export_tables[0].fhir_filter"),
            ({"nominative": "maybe"}, "nominative"),
            ({"datalab": "not-a-uuid"}, "datalab"),
        ],
    )
    def test_malformed_fields_are_named(self, refused, cohort, change, field):
        body = {key: value for key, value in (csv_body(cohort) | change).items() if value is not REMOVED}
        message = refused(body)
        assert message.startswith(f"{field}: "), message

    @pytest.mark.parametrize("body", [[], "csv", 12])
    def test_a_body_must_be_a_json_object(self, refused, body):
        assert refused(body) == "The body must be a JSON object"


class TestTables:
    def test_a_filter_without_source_cohort_is_refused_before_storing(self, refused, researcher, cohort):
        fhir_filter = FhirFilter.objects.create(
            owner=researcher, fhir_resource="DocumentReference", fhir_version="4.0", name="Notes", filter="type=x"
        )
        body = csv_body(cohort, export_tables=[table("person", cohort), table("note", fhir_filter=str(fhir_filter.pk))])
        assert refused(body) == "A FHIR filter was provided but not a cohort source to filter (table `note`)"

    @pytest.mark.parametrize(
        "tables",
        [
            [("note", True)],  # no patient table
            [("person", False), ("note", True)],  # a patient table without source cohort
            [("iris", True), ("visit_occurrence", True)],
        ],
    )
    def test_a_patient_table_with_a_source_cohort_is_required(self, refused, cohort, datalab, tables):
        export_tables = [table(name, cohort if sourced else None) for name, sourced in tables]
        expected = "The export needs a patient table (`person` or `patient`) with a source cohort"
        assert refused(csv_body(cohort, export_tables=export_tables)) == expected
        assert refused(hive_body(cohort, datalab, export_tables=export_tables)) == expected

    def test_unknown_filters_and_other_users_filters_are_missing(self, refused, other, cohort):
        theirs = FhirFilter.objects.create(
            owner=other, fhir_resource="Condition", fhir_version="4.0", name="Theirs", filter="code=E11"
        )
        for filter_pk in (UNKNOWN, str(theirs.pk)):
            body = csv_body(
                cohort, export_tables=[table("person", cohort), table("condition", cohort, fhir_filter=filter_pk)]
            )
            assert refused(body) == f"Missing FHIR filter with id {filter_pk}"

    def test_deleted_filters_are_missing(self, refused, researcher, cohort):
        fhir_filter = FhirFilter.objects.create(
            owner=researcher, fhir_resource="Condition", fhir_version="4.0", name="Gone", filter="code=E11"
        )
        fhir_filter.delete()
        body = csv_body(
            cohort, export_tables=[table("person", cohort), table("condition", cohort, fhir_filter=str(fhir_filter.pk))]
        )
        assert refused(body) == f"Missing FHIR filter with id {fhir_filter.pk}"


class TestCsvAndXlsx:
    def test_pseudonymised_files_are_forbidden(self, refused, cohort):
        message = refused(csv_body(cohort, nominative=False), status=403)
        assert message == "Vous n'avez pas le droit d'export CSV/Excel pseudonymisé"

    def test_tables_must_share_one_source_cohort(self, refused, researcher, cohort, make_cohort):
        second = make_cohort(researcher, group_id="999")
        body = csv_body(cohort, export_tables=[table("person", cohort), table("note", second)])
        assert refused(body) == "All export tables must have the same source cohort"

    @pytest.mark.parametrize("output_format", ["csv", "xlsx"])
    def test_only_the_callers_finished_cohorts(self, refused, researcher, other, make_cohort, output_format):
        cases = [
            make_cohort(other),  # another user's cohort: the IDOR
            make_cohort(researcher, status=JobStatus.STARTED),
            make_cohort(researcher, is_subset=True),
        ]
        deleted = make_cohort(researcher)
        deleted.delete()
        for cohort in [*cases, deleted, *unusable_cohorts(researcher, make_cohort)]:
            body = csv_body(cohort, output_format=output_format)
            assert refused(body) == f"Missing cohort with id {cohort.pk}"
        unknown = [{"table_name": "person", "cohort_result_source": UNKNOWN}]
        assert refused(csv_body(cases[0], export_tables=unknown)) == f"Missing cohort with id {UNKNOWN}"


class TestHive:
    def test_a_datalab_is_required(self, refused, researcher, cohort, datalab):
        body = hive_body(cohort, datalab)
        del body["datalab"]
        assert refused(body) == "A `datalab` is required to export to a Jupyter environment"
        assert refused(hive_body(cohort, datalab) | {"datalab": UNKNOWN}) == f"Missing datalab with id {UNKNOWN}"

    def test_source_cohorts_must_have_finished(self, refused, researcher, cohort, make_cohort, datalab):
        unfinished_cohorts = (
            make_cohort(researcher, status=JobStatus.FAILED),
            make_cohort(researcher, is_subset=True),
            *unusable_cohorts(researcher, make_cohort),
        )
        for unfinished in unfinished_cohorts:
            message = refused(hive_body(unfinished, datalab))
            assert message == f"Cohort `{unfinished.pk}` not found or did not finish successfully"
        unknown = [{"table_name": "patient", "cohort_result_source": UNKNOWN}]
        message = refused(hive_body(cohort, datalab, export_tables=unknown))
        assert message == f"Cohort `{UNKNOWN}` not found or did not finish successfully"

    def test_other_users_cohorts_are_for_export_administrators_only(self, refused, other, make_cohort, datalab):
        cohort = make_cohort(other)
        assert refused(hive_body(cohort, datalab)) == f"Missing cohort with id {cohort.pk}"


class TestEmail:
    @pytest.mark.parametrize(
        ("email", "message"),
        [
            (None, "No email address is configured. Please contact an administrator"),
            ("", "No email address is configured. Please contact an administrator"),
            ("alice@", "Invalid email address 'alice@'. Please contact an administrator."),
        ],
    )
    def test_the_caller_needs_a_valid_email(self, refused, researcher, cohort, email, message):
        type(researcher).objects.filter(pk=researcher.pk).update(email=email)
        assert refused(csv_body(cohort)) == message
