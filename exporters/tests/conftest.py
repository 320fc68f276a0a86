"""Export rows whose tables point at finished cohorts with patient lists (group ids); the fakes of the Export API,
the Hadoop API and WebHDFS are the shared fixtures of tests/fakes/fixtures.py."""

from __future__ import annotations

import pytest

from cohort.models import CohortResult, JobStatus
from cohort.tests.builders import cohort_of, measure_of, snapshot_of
from exports.models import Datalab, Export, ExportTable, InfrastructureProvider, OutputFormat
from tests.factories import UserFactory

TIMESTAMP = "20260112_102030123456"


@pytest.fixture(autouse=True)
def short_timeout(settings):
    """A broken fake fails a test in seconds rather than after the production timeout."""
    settings.EXTERNAL_API_TIMEOUT_SECONDS = 5


@pytest.fixture
def owner(db):
    return UserFactory(username="1234567", firstname="Alice", lastname="MARTIN")


@pytest.fixture
def make_cohort(owner):
    """`make_cohort("123456")`: a finished cohort of the owner whose patient list is that group id."""

    def make(group_id: str = "123456", **fields) -> CohortResult:
        measure = measure_of(snapshot_of(owner, "8312002244"), status=JobStatus.FINISHED)
        return cohort_of(measure, status=JobStatus.FINISHED, group_id=group_id, **fields)

    return make


@pytest.fixture
def datalab(db):
    provider = InfrastructureProvider.objects.create(name="Jupyter")
    return Datalab.objects.create(infrastructure_provider=provider, name="datalab01")


@pytest.fixture
def make_export(owner, settings):
    """`make_export(output_format, tables=[{"name": "person", "cohort_result_source": cohort}, ...], **fields)`:
    the export and its tables (created in that order), with the target the creation gives them."""

    def make(output_format: str = OutputFormat.CSV, *, tables: list[dict], **fields) -> Export:
        datalab = fields.get("datalab")
        prefix = datalab.name if output_format == OutputFormat.HIVE and datalab else owner.username
        fields.setdefault("target_name", f"{prefix}_{TIMESTAMP}")
        locations = {
            OutputFormat.CSV: settings.EXPORT_CSV_PATH,
            OutputFormat.XLSX: settings.EXPORT_XLSX_PATH,
            OutputFormat.HIVE: settings.HIVE_DB_PATH,
        }
        fields.setdefault("target_location", locations[output_format])
        fields.setdefault("nominative", output_format != OutputFormat.HIVE)
        export = Export.objects.create(owner=owner, output_format=output_format, **fields)
        for table in tables:
            ExportTable.objects.create(export=export, **table)
        return export

    return make


@pytest.fixture
def csv_export(make_export, make_cohort):
    """The CSV export of the specification's example (spec 02 §17.2): `person` with columns, `note` with a subset."""
    cohort = make_cohort("123456")
    return make_export(
        OutputFormat.CSV,
        tables=[
            {"name": "person", "cohort_result_source": cohort, "columns": ["person_id", "gender"]},
            {
                "name": "note",
                "cohort_result_source": cohort,
                "cohort_result_subset": make_cohort("123999", is_subset=True),
            },
        ],
    )


@pytest.fixture
def hive_export(make_export, make_cohort, datalab):
    """The pseudonymised Hive export of the specification's example (spec 03 §6.1)."""
    cohort = make_cohort("123456")
    return make_export(
        OutputFormat.HIVE,
        datalab=datalab,
        shift_dates=True,
        tables=[
            {"name": "person", "cohort_result_source": cohort},
            {"name": "condition_occurrence", "cohort_result_source": cohort},
        ],
    )
