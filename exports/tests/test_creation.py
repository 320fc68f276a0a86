"""Storing an export (spec 02 §16.4): target, tables, the `note` filter, cohort subsets, the launch."""

from __future__ import annotations

import json
import re

import pytest

from cohort.models import CohortResult, FhirFilter, JobStatus
from cohort.tests.builders import cohort_of, measure_of, snapshot_of
from exports.models import Datalab, Export, InfrastructureProvider
from exports.services import creation
from exports.services.export_requests import ExportRequest, TableRequest
from exports.tests.task_queue import empty_task_queue, queued_tasks  # noqa: F401 (fixture)
from tests.factories import UserFactory


@pytest.fixture
def owner(db):
    return UserFactory(username="4000001", email="alice@example.org")


@pytest.fixture
def source(owner):
    measure = measure_of(snapshot_of(owner, "8312002244"), status=JobStatus.FINISHED, measure=1523)
    return cohort_of(measure, status=JobStatus.FINISHED, group_id="123456", name="My cohort")


def store(owner, *tables: TableRequest, **options) -> Export:
    options.setdefault("output_format", "csv")
    options.setdefault("nominative", True)
    return creation.create_export(owner=owner, request=ExportRequest(tables=list(tables), **options))


def test_an_export_without_subsets_is_launched_after_commit(owner, source, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        export = store(
            owner,
            TableRequest("person", cohort_source=source, columns=["person_id", "gender"]),
            TableRequest("condition_occurrence"),
            motivation="Study X - phase 2",
        )
    assert re.fullmatch(r"4000001_\d{8}_\d{12}", export.target_name)
    assert (export.target_location, export.request_job_status, export.motivation) == (
        "/exports/csv",
        "new",
        "Study X - phase 2",
    )
    assert list(export.export_tables.values_list("name", "columns", "cohort_result_subset")) == [
        ("person", ["person_id", "gender"], None),
        ("condition_occurrence", None, None),
    ]
    assert queued_tasks() == [("exports.tasks.launch_export", [str(export.pk)])]


def test_a_hive_export_is_named_after_its_datalab(owner, source, settings):
    settings.HIVE_DB_PATH = "/hive/db"
    provider = InfrastructureProvider.objects.create(name="Provider")
    datalab = Datalab.objects.create(name="datalab01", infrastructure_provider=provider)
    export = store(owner, TableRequest("patient", cohort_source=source), output_format="hive", datalab=datalab)
    assert re.fullmatch(r"datalab01_\d{8}_\d{12}", export.target_name)
    assert export.target_location == "/hive/db"


def test_a_filtered_table_waits_for_its_cohort_subset(owner, source, django_capture_on_commit_callbacks):
    fhir_filter = FhirFilter.objects.create(
        owner=owner, fhir_resource="Condition", fhir_version="4.0", name="Diabetes", filter="code=E11"
    )
    with django_capture_on_commit_callbacks(execute=True):
        export = store(
            owner,
            TableRequest("person", cohort_source=source),
            TableRequest("condition_occurrence", cohort_source=source, fhir_filter=fhir_filter),
            TableRequest("imaging_series", cohort_source=source, fhir_filter=fhir_filter),
        )
    subset = CohortResult.all_objects.get(is_subset=True)
    assert (subset.name, subset.owner, subset.request_job_status) == ("condition_occurrence_123456", owner, "pending")
    assert subset.dated_measure.measure == 1523
    query = json.loads(subset.request_query_snapshot.serialized_query)
    assert query["sourcePopulation"] == {"caresiteCohortList": ["123456"]}
    assert (query["request"]["resourceType"], query["request"]["filterFhir"]) == ("Condition", "code=E11")
    assert subset.request_query_snapshot.perimeters_ids == ["8312002244"]
    assert subset.request_query_snapshot.request == source.request_query_snapshot.request
    tables = dict(export.export_tables.values_list("name", "cohort_result_subset"))
    assert tables == {"person": None, "condition_occurrence": subset.pk, "imaging_series": None}
    # The subset is created; the export itself waits for it.
    assert queued_tasks() == [("cohort.tasks.submit_cohort_creation", [str(subset.pk), {}])]


def test_the_note_table_gets_a_generated_filter_and_a_subset(owner, source):
    export = store(owner, TableRequest("person", cohort_source=source), TableRequest("note", cohort_source=source))
    generated = FhirFilter.all_objects.get(auto_generated=True)
    assert (generated.owner, generated.fhir_resource) == (owner, "DocumentReference")
    assert generated.name == f"{str(export.pk)[:8]}_note_(auto generated)"
    assert generated.filter == creation.NOTE_DEFAULT_FILTER
    note = export.export_tables.get(name="note")
    assert note.fhir_filter == generated and note.cohort_result_subset.name == "note_123456"
