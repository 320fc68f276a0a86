"""Counts (dated measures) and cohorts: the jobs run by the job server (spec 02 §3.5-§3.6)."""

from __future__ import annotations

from django.db import models

from cohort.models.base import OwnedModel
from cohort.models.jobs import JobModel
from cohort.models.workspace import RequestQuerySnapshot


class MeasureMode(models.TextChoices):
    SNAPSHOT = "Snapshot"
    GLOBAL = "Global"


class DatedMeasure(OwnedModel, JobModel):
    request_query_snapshot = models.ForeignKey(
        RequestQuerySnapshot, on_delete=models.CASCADE, related_name="dated_measures"
    )
    fhir_datetime = models.DateTimeField(null=True, blank=True)
    measure = models.BigIntegerField(null=True, blank=True)
    measure_min = models.BigIntegerField(null=True, blank=True)
    measure_max = models.BigIntegerField(null=True, blank=True)
    extra = models.JSONField(null=True, blank=True)
    count_task_id = models.TextField(blank=True, default="")
    mode = models.CharField(max_length=20, choices=MeasureMode.choices, default=MeasureMode.SNAPSHOT)
    # A refresh schedule's run (spec 02 §9): its end is the schedule's last refresh. Known from the row, so that
    # the end of every other count asks nothing about schedules.
    scheduled_refresh = models.BooleanField(default=False)

    class Meta(OwnedModel.Meta):
        db_table = "cohort_dated_measure"
        indexes = [
            models.Index(fields=["request_query_snapshot", "created_at"], name="measure_snapshot_created"),
            models.Index(fields=["request_job_status", "modified_at"], name="measure_status_modified"),
        ]


class CohortResult(OwnedModel, JobModel):
    name = models.CharField(max_length=255, null=True, blank=True)
    description = models.TextField(null=True, blank=True)
    favorite = models.BooleanField(default=False)
    request_query_snapshot = models.ForeignKey(
        RequestQuerySnapshot, on_delete=models.CASCADE, null=True, blank=True, related_name="cohort_results"
    )
    dated_measure = models.ForeignKey(
        DatedMeasure, on_delete=models.CASCADE, null=True, blank=True, related_name="cohorts"
    )
    dated_measure_global = models.ForeignKey(
        DatedMeasure, on_delete=models.SET_NULL, null=True, blank=True, related_name="global_cohorts"
    )
    group_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    create_task_id = models.TextField(blank=True, default="")
    is_subset = models.BooleanField(default=False)
    parent_cohort = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="sample_cohorts"
    )
    sampling_ratio = models.FloatField(null=True, blank=True)

    class Meta(OwnedModel.Meta):
        db_table = "cohort_cohort_result"
        indexes = [
            models.Index(fields=["owner", "created_at"], name="cohort_owner_created"),
            models.Index(fields=["request_query_snapshot", "is_subset"], name="cohort_snapshot_subset"),
            models.Index(fields=["request_job_status", "modified_at"], name="cohort_status_modified"),
        ]
