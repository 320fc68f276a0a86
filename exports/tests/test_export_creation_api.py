"""Creating an export over the API as the two web apps do (spec 02 §16.1; client contract EXP-3, EXP-4).

Refusals are in test_validation.py and test_export_rights.py; storing and the workflow in test_creation.py.
"""

from __future__ import annotations

import pytest

from cohort.models import FhirFilter
from exports.models import Export
from exports.tests.conftest import EXPORTS, NOMINATIVE_EXPORTER, csv_body, hive_body
from tests.factories import RoleFactory, grant

pytestmark = pytest.mark.django_db


def created(response) -> Export:
    assert response.status_code == 201, response.content
    return Export.objects.get(pk=response.json()["uuid"])


class TestCohort360Export:
    def test_a_csv_export_is_stored_for_the_caller(self, researcher_client, researcher, make_cohort):
        cohort = make_cohort(researcher)
        body = csv_body(
            cohort,
            motivation="Study X\nphase 2",
            shift_date=True,  # Cohort360's spelling of `shift_dates`
            export_tables=[
                {
                    "table_name": "person",
                    "cohort_result_source": str(cohort.pk),
                    "respect_table_relationships": False,  # ignored: relations are always kept
                    "columns": ["person_id", "gender"],
                },
                {
                    "table_name": "questionnaireresponse",
                    "cohort_result_source": str(cohort.pk),
                    "columns": None,
                    "pivot_merge_columns": ["linkId1"],
                    "pivot_merge_ids": ["qId"],
                },
            ],
            owner="4000002",  # unknown keys, and the owner is never taken from the body
            uuid="",
        )

        response = researcher_client.post(EXPORTS, body, format="json")

        export = created(response)
        assert response.json()["owner"] == "4000001"
        assert response.json()["request_job_status"] == "new"
        assert (export.owner, export.output_format, export.nominative, export.shift_dates) == (
            researcher,
            "csv",
            True,
            True,
        )
        assert export.motivation == "Study X - phase 2"
        assert list(
            export.export_tables.values_list(
                "name", "cohort_result_source", "columns", "respect_table_relationships", "pivot_merge_ids"
            )
        ) == [
            ("person", cohort.pk, ["person_id", "gender"], True, None),
            ("questionnaireresponse", cohort.pk, None, True, ["qId"]),
        ]
        assert [table["name"] for table in response.json()["export_tables"]] == ["person", "questionnaireresponse"]

    def test_xlsx_with_the_callers_filter(self, researcher_client, researcher, make_cohort):
        cohort = make_cohort(researcher)
        fhir_filter = FhirFilter.objects.create(
            owner=researcher, fhir_resource="Condition", fhir_version="4.0", name="Diabetes", filter="code=E11"
        )
        tables = [
            {"table_name": "person", "cohort_result_source": str(cohort.pk)},
            {
                "table_name": "condition_occurrence",
                "cohort_result_source": str(cohort.pk),
                "fhir_filter": str(fhir_filter.pk),
            },
        ]
        response = researcher_client.post(
            EXPORTS, csv_body(cohort, output_format="xlsx", export_tables=tables), format="json"
        )
        export = created(response)
        assert export.export_tables.get(name="condition_occurrence").fhir_filter == fhir_filter

    def test_an_absent_motivation_is_empty(self, researcher_client, researcher, make_cohort):
        body = csv_body(make_cohort(researcher))
        del body["motivation"]
        assert created(researcher_client.post(EXPORTS, body, format="json")).motivation == ""


class TestPortailTransfer:
    def test_a_researcher_transfers_their_cohort(self, researcher_client, researcher, make_cohort, datalab):
        export = created(researcher_client.post(EXPORTS, hive_body(make_cohort(researcher), datalab), format="json"))
        assert (export.output_format, export.datalab, export.nominative) == ("hive", datalab, False)
        assert list(export.export_tables.values_list("name", flat=True)) == ["patient"]

    def test_an_export_administrator_transfers_another_users_cohort(
        self, make_client, datalab_reader, hospital, other, make_cohort, datalab
    ):
        grant(datalab_reader, RoleFactory(**NOMINATIVE_EXPORTER), hospital[0])
        cohort = make_cohort(other)
        filters_owner = FhirFilter.objects.create(
            owner=other, fhir_resource="Condition", fhir_version="4.0", name="Diabetes", filter="code=E11"
        )
        tables = [
            {"table_name": "patient", "cohort_result_source": str(cohort.pk)},
            # The cohort owner's filter, listed to the administrator by /exports/fhir-filters/.
            {"table_name": "condition", "cohort_result_source": str(cohort.pk), "fhir_filter": str(filters_owner.pk)},
        ]
        response = make_client(datalab_reader).post(
            EXPORTS, hive_body(cohort, datalab, export_tables=tables), format="json"
        )
        export = created(response)
        assert export.owner == datalab_reader  # the requester, who is notified
        assert export.export_tables.get(name="patient").cohort_result_source == cohort
