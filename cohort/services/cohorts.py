"""Cohort creation (spec 02 §7): from a count or as a sample of a cohort, with an optional global estimate."""

from __future__ import annotations

import json

from django.conf import settings
from django.db import transaction

from cohort.job_server import JobServerError
from cohort.models import CohortResult, DatedMeasure, JobStatus, MeasureMode, RequestQuerySnapshot
from cohort.services import counts, submission
from cohort.services.queueing import queue_after_commit


def cohort_source_query(group_id: str, resource_type: str = "Patient", fhir_filter: str = "") -> str:
    """A query selecting resources of one type inside an existing cohort (spec 02 §7.5)."""
    return json.dumps(
        {
            "_type": "request",
            "resourceType": resource_type,
            "sourcePopulation": {"caresiteCohortList": [group_id]},
            "request": {
                "_id": 0,
                "_type": "basicResource",
                "isInclusive": True,
                "filterFhir": fhir_filter,
                "resourceType": resource_type,
            },
        }
    )


def _initial_status(expected_size: float) -> str:
    return JobStatus.LONG_PENDING if expected_size >= settings.COHORT_SIZE_LIMIT else JobStatus.PENDING


@transaction.atomic
def create_cohort(
    *,
    owner,
    snapshot: RequestQuerySnapshot,
    measure: DatedMeasure,
    name: str | None,
    description: str | None,
    favorite: bool = False,
    global_estimate: bool,
    auth: dict,
) -> CohortResult:
    cohort = CohortResult.objects.create(
        owner=owner,
        name=name,
        description=description,
        favorite=favorite,
        request_query_snapshot=snapshot,
        dated_measure=measure,
        request_job_status=_initial_status(measure.measure or 0),
    )
    if global_estimate:
        estimate = counts.launch_count(owner=owner, snapshot=snapshot, auth=auth, mode=MeasureMode.GLOBAL)
        cohort.dated_measure_global = estimate
        cohort.save(update_fields=["dated_measure_global", "modified_at"])
    queue_after_commit(CohortResult, cohort.pk, "cohort.tasks.submit_cohort_creation", str(cohort.pk), auth)
    return cohort


@transaction.atomic
def create_sample(
    *, owner, parent: CohortResult, name: str | None, description: str | None, sampling_ratio: float, auth: dict
) -> CohortResult:
    measure = DatedMeasure.objects.create(owner=parent.owner, request_query_snapshot=parent.request_query_snapshot)
    parent_size = parent.dated_measure.measure if parent.dated_measure else 0
    cohort = CohortResult.objects.create(
        owner=owner,
        name=name,
        description=description,
        request_query_snapshot=parent.request_query_snapshot,
        dated_measure=measure,
        parent_cohort=parent,
        sampling_ratio=sampling_ratio,
        request_job_status=_initial_status((parent_size or 0) * sampling_ratio),
    )
    queue_after_commit(CohortResult, cohort.pk, "cohort.tasks.submit_cohort_creation", str(cohort.pk), auth)
    return cohort


# Tables whose rows the Export API filters by itself: no subset for them (spec 02 §16.4.3).
TABLES_WITHOUT_SUBSET = frozenset(
    {"imaging_series", "questionnaire__item", "questionnaireresponse__item", "questionnaireresponse__item__answer"}
)


@transaction.atomic
def create_subset(*, owner, source: CohortResult, table_name: str, fhir_resource: str, fhir_filter: str, auth: dict):
    """A technical cohort of the `fhir_resource` rows of `source` matching `fhir_filter`, for an export table
    (spec 02 §16.4.3): hidden from its owner, created like any cohort."""
    snapshot = source.request_query_snapshot
    subset_snapshot = RequestQuerySnapshot.objects.create(
        owner=snapshot.owner,
        request=snapshot.request,
        serialized_query=cohort_source_query(source.group_id, fhir_resource, fhir_filter),
        perimeters_ids=snapshot.perimeters_ids,
    )
    count = source.dated_measure
    measure = DatedMeasure.objects.create(
        owner=count.owner,
        request_query_snapshot=subset_snapshot,
        mode=count.mode,
        measure=count.measure,
        request_job_status=count.request_job_status,
        request_job_duration=count.request_job_duration,
    )
    cohort = CohortResult.objects.create(
        owner=owner,
        name=f"{table_name}_{source.group_id}",
        request_query_snapshot=subset_snapshot,
        dated_measure=measure,
        is_subset=True,
        request_job_status=_initial_status(measure.measure or 0),
    )
    queue_after_commit(CohortResult, cohort.pk, "cohort.tasks.submit_cohort_creation", str(cohort.pk), auth)
    return cohort


def submit_cohort_creation(cohort_pk, *, auth: dict, task_id: str) -> None:
    def build(cohort: CohortResult):
        snapshot = cohort.request_query_snapshot
        if snapshot is None:
            raise JobServerError("The cohort has no query snapshot")
        if cohort.parent_cohort_id:
            parent = cohort.parent_cohort
            if not parent.group_id:
                raise JobServerError("The parent cohort has no patient list yet")
            return submission.job_request(
                cohort,
                mode="create",
                serialized_query=cohort_source_query(parent.group_id),
                auth=auth,
                perimeters=submission.perimeters_of(snapshot.serialized_query),
                sampling_ratio=cohort.sampling_ratio,
            )
        if cohort.is_subset:  # reads inside a cohort: the rights are those on the source query's perimeters
            return submission.job_request(
                cohort,
                mode="create",
                serialized_query=snapshot.serialized_query,
                auth=auth,
                perimeters=[str(p) for p in snapshot.perimeters_ids or []],
            )
        return submission.job_request(cohort, mode="create", serialized_query=snapshot.serialized_query, auth=auth)

    submission.submit(CohortResult, cohort_pk, build, task_id_field="create_task_id", task_id=task_id)
