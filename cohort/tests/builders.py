"""Rows of the cohort app built directly in the database, for tests of counts, cohorts and callbacks."""

from __future__ import annotations

import json

from cohort.models import CohortResult, DatedMeasure, Folder, JobStatus, Request, RequestQuerySnapshot


def query_on(*cohort_ids: str, criteria: list | None = None) -> str:
    return json.dumps(
        {
            "version": "v1.6.1",
            "_type": "request",
            "sourcePopulation": {"caresiteCohortList": list(cohort_ids)},
            "request": {
                "_id": 0,
                "_type": "andGroup",
                "isInclusive": True,
                "criteria": criteria
                if criteria is not None
                else [
                    {
                        "_id": 1,
                        "_type": "basicResource",
                        "isInclusive": True,
                        "resourceType": "Patient",
                        "filterFhir": "gender=female",
                    }
                ],
                "temporalConstraints": [],
            },
        }
    )


def snapshot_of(owner, *cohort_ids: str, request: Request | None = None) -> RequestQuerySnapshot:
    if request is None:
        folder = Folder.objects.create(owner=owner, name="Folder")
        request = Request.objects.create(owner=owner, name="Diabetes study", parent_folder=folder)
    return RequestQuerySnapshot.objects.create(
        owner=owner, request=request, serialized_query=query_on(*cohort_ids), perimeters_ids=list(cohort_ids)
    )


def measure_of(snapshot: RequestQuerySnapshot, *, status: str = JobStatus.STARTED, **fields) -> DatedMeasure:
    fields.setdefault("request_job_id", "job-1" if status != JobStatus.NEW else "")
    return DatedMeasure.objects.create(
        owner=snapshot.owner, request_query_snapshot=snapshot, request_job_status=status, **fields
    )


def cohort_of(measure: DatedMeasure, *, status: str = JobStatus.STARTED, **fields) -> CohortResult:
    fields.setdefault("request_job_id", "job-2")
    return CohortResult.objects.create(
        owner=measure.owner,
        request_query_snapshot=measure.request_query_snapshot,
        dated_measure=measure,
        request_job_status=status,
        name=fields.pop("name", "My cohort"),
        **fields,
    )
