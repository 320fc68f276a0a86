"""Feasibility studies, saved FHIR filters and refresh schedules (spec 02 §3.7-§3.9)."""

from __future__ import annotations

from django.db import models

from cohort.models.base import HistorizedModel, OwnedModel
from cohort.models.jobs import JobModel
from cohort.models.workspace import RequestQuerySnapshot


class FeasibilityStudy(OwnedModel, JobModel):
    request_query_snapshot = models.ForeignKey(
        RequestQuerySnapshot, on_delete=models.CASCADE, related_name="feasibility_studies"
    )
    total_count = models.IntegerField(null=True, blank=True)
    report_json_content = models.BinaryField(null=True, blank=True)
    report_file = models.BinaryField(null=True, blank=True)

    class Meta(OwnedModel.Meta):
        db_table = "cohort_feasibility_study"


class FhirFilter(HistorizedModel):
    fhir_resource = models.CharField(max_length=255)
    fhir_version = models.CharField(max_length=50)
    query_version = models.CharField(max_length=50, default="v1.4.4")
    name = models.CharField(max_length=50)
    filter = models.TextField()
    identifying = models.BooleanField(default=False)
    auto_generated = models.BooleanField(default=False)
    history_field = "filter"
    history_patches = ("cohort.FhirFilterPatch", "fhir_filter", "filter_uuid", "filter")

    class Meta(OwnedModel.Meta):
        db_table = "cohort_fhir_filter"
        constraints = [
            models.UniqueConstraint(
                fields=["name", "fhir_resource", "owner"],
                condition=models.Q(deleted__isnull=True),
                name="unique_alive_fhir_filter_name",
            )
        ]

    def save(self, *args, **kwargs):
        self.filter = (self.filter or "").strip("&=")
        super().save(*args, **kwargs)


class FhirFilterPatch(models.Model):
    fhir_filter = models.ForeignKey(FhirFilter, on_delete=models.CASCADE, related_name="patches")
    filter_uuid = models.CharField(max_length=36)
    patch_version = models.PositiveIntegerField()
    filter = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "cohort_fhir_filter_patch"
        constraints = [
            models.UniqueConstraint(fields=["fhir_filter", "patch_version"], name="unique_fhir_filter_patch_version")
        ]


class RefreshFrequency(models.TextChoices):
    DAILY = "daily"
    EVERY_OTHER_DAY = "every_other_day"
    WEEKLY = "weekly"


class RequestRefreshSchedule(OwnedModel):
    request_snapshot = models.ForeignKey(
        RequestQuerySnapshot, on_delete=models.CASCADE, related_name="refresh_schedules"
    )
    refresh_time = models.TimeField()
    refresh_frequency = models.CharField(
        max_length=30, choices=RefreshFrequency.choices, default=RefreshFrequency.WEEKLY
    )
    last_refresh = models.DateTimeField(null=True, blank=True)
    last_refresh_succeeded = models.BooleanField(null=True, blank=True)
    last_refresh_count = models.BigIntegerField(null=True, blank=True)
    last_refresh_error_msg = models.TextField(null=True, blank=True)
    notify_owner = models.BooleanField(default=False)
    # When the next re-count is due (UTC); the periodic dispatcher claims due schedules by moving it forward.
    next_run_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The count of the latest run: its callback (and only its callback) updates the bookkeeping above.
    last_dated_measure = models.ForeignKey(
        "cohort.DatedMeasure", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(OwnedModel.Meta):
        db_table = "cohort_request_refresh_schedule"
        constraints = [
            models.UniqueConstraint(
                fields=["request_snapshot"],
                condition=models.Q(deleted__isnull=True),
                name="unique_alive_refresh_schedule",
            )
        ]
