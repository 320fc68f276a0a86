"""Fixtures of the exports API tests: a hospital with two units, researchers holding export rights, cohorts
built on perimeters, datalabs, and exports stored directly in the database."""

from __future__ import annotations

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accesses.services.perimeter_tree import rebuild_closure
from cohort.models import CohortResult, JobStatus
from cohort.tests.builders import cohort_of, measure_of, snapshot_of
from exports.models import Datalab, Export, ExportTable, InfrastructureProvider
from tests.factories import PerimeterFactory, RoleFactory, UserFactory, grant

# Everything a researcher needs to export nominative data anywhere they read it.
NOMINATIVE_EXPORTER = {
    "right_read_patient_nominative": True,
    "right_read_patient_pseudonymized": True,
    "right_export_csv_xlsx_nominative": True,
    "right_export_jupyter_nominative": True,
    "right_export_jupyter_pseudonymized": True,
}
EXPORTS = "/exports/"


def detail(export) -> str:
    return f"{EXPORTS}{export.pk}/"


@pytest.fixture
def hospital(db):
    """A hospital (perimeter 1, cohort id "100") with two units (2 and 3, cohort ids "101" and "102")."""
    root = PerimeterFactory(id=1, cohort_id="100", level=1)
    units = [PerimeterFactory(id=i, cohort_id=str(99 + i), parent=root, level=2) for i in (2, 3)]
    rebuild_closure()
    return root, *units


@pytest.fixture
def researcher(hospital):
    """Reads and exports nominative data on the whole hospital."""
    user = UserFactory(username="4000001", firstname="Alice", lastname="MARTIN", email="alice@example.org")
    grant(user, RoleFactory(**NOMINATIVE_EXPORTER), hospital[0])
    return user


@pytest.fixture
def researcher_client(make_client, researcher):
    return make_client(researcher)


@pytest.fixture
def other(hospital):
    """Another researcher with the same rights, whose exports and cohorts the first one must never reach."""
    user = UserFactory(username="4000002", firstname="Bob", lastname="DURAND", email="bob@example.org")
    grant(user, RoleFactory(**NOMINATIVE_EXPORTER), hospital[0])
    return user


@pytest.fixture
def other_client(make_client, other):
    return make_client(other)


@pytest.fixture
def datalab_reader(hospital):
    """An export administrator (datalab reader) who may not read patient data."""
    user = UserFactory(username="4000009", firstname="Dana", lastname="LAB", email="dana@example.org")
    grant(user, RoleFactory(right_read_datalabs=True), hospital[0])
    return user


@pytest.fixture
def pipeline_client(db):
    """The export pipeline, authenticated by its static token."""
    UserFactory(username=settings.EXPORT_PIPELINE_USERNAME, email=None)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {settings.EXPORT_PIPELINE_TOKEN}")
    return client


@pytest.fixture
def make_cohort(db):
    """`make_cohort(owner, "101", "102", group_id=..., measure=...)`: a finished cohort on these perimeters."""

    def make(
        owner,
        *perimeter_cohort_ids: str,
        status: str = JobStatus.FINISHED,
        measure: int = 1523,
        group_id: str = "123456",
        **fields,
    ) -> CohortResult:
        snapshot = snapshot_of(owner, *(perimeter_cohort_ids or ("100",)))
        return cohort_of(
            measure_of(snapshot, status=JobStatus.FINISHED, measure=measure),
            status=status,
            group_id=group_id,
            **fields,
        )

    return make


@pytest.fixture
def datalab(db) -> Datalab:
    provider = InfrastructureProvider.objects.create(name="Provider")
    return Datalab.objects.create(name="datalab01", infrastructure_provider=provider)


@pytest.fixture
def make_export(db):
    """`make_export(owner, cohort, output_format=..., tables=("person", ...), **fields)`: a stored export whose
    tables all read `cohort` (None: tables without a source cohort)."""

    def make(
        owner,
        cohort: CohortResult | None = None,
        *,
        tables: tuple[str, ...] = ("person",),
        output_format: str = "csv",
        **fields,
    ) -> Export:
        fields.setdefault("request_job_status", JobStatus.FINISHED)
        fields.setdefault("nominative", output_format != "hive")
        fields.setdefault("target_name", f"{owner.username}_20260112_102030123456")
        fields.setdefault("target_location", "/exports/csv")
        export = Export.objects.create(owner=owner, output_format=output_format, **fields)
        for name in tables:
            ExportTable.objects.create(export=export, name=name, cohort_result_source=cohort)
        return export

    return make


def csv_body(cohort: CohortResult, **overrides) -> dict:
    """What Cohort360's export form posts (client contract EXP-3)."""
    return {
        "motivation": "Étude X sur le diabète",
        "export_tables": [
            {
                "table_name": "person",
                "cohort_result_source": str(cohort.pk),
                "respect_table_relationships": True,
                "columns": None,
            }
        ],
        "nominative": True,
        "shift_date": False,
        "output_format": "csv",
        "group_tables": False,
        **overrides,
    }


def hive_body(cohort: CohortResult, datalab: Datalab, **overrides) -> dict:
    """What the Portail's Jupyter transfer form posts (client contract EXP-4)."""
    return {
        "output_format": "hive",
        "datalab": str(datalab.pk),
        "export_tables": [
            {"table_name": "patient", "cohort_result_source": str(cohort.pk), "respect_table_relationships": True}
        ],
        "nominative": False,
        "shift_dates": False,
        **overrides,
    }
