"""Export requests and what they need (spec 02 §14): providers, datalabs, exports, their tables and stats."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

from cohort.models import CohortBaseModel, CohortResult, FhirFilter, JobModel, OwnedModel


class OutputFormat(models.TextChoices):
    CSV = "csv"
    XLSX = "xlsx"
    HIVE = "hive"


DOWNLOADABLE_FORMATS = frozenset({OutputFormat.CSV, OutputFormat.XLSX})


class InfrastructureProvider(CohortBaseModel):
    name = models.CharField(max_length=255)


class Datalab(CohortBaseModel):
    infrastructure_provider = models.ForeignKey(
        InfrastructureProvider, on_delete=models.CASCADE, related_name="datalabs"
    )
    # The Unix account that owns the transferred data, and the pseudonymisation key.
    name = models.CharField(max_length=255)

    class Meta(CohortBaseModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["name"], condition=models.Q(deleted__isnull=True), name="unique_datalab_name"
            )
        ]


class Export(OwnedModel, JobModel):
    output_format = models.CharField(max_length=10, choices=OutputFormat.choices)
    target_name = models.CharField(max_length=255, null=True, blank=True)
    target_location = models.TextField(null=True, blank=True)
    data_exporter_version = models.CharField(max_length=20, null=True, blank=True)
    data_version = models.CharField(max_length=20, null=True, blank=True)
    nominative = models.BooleanField(default=False)
    is_user_notified = models.BooleanField(default=False)
    datalab = models.ForeignKey(Datalab, on_delete=models.SET_NULL, null=True, blank=True, related_name="exports")
    shift_dates = models.BooleanField(default=False)
    group_tables = models.BooleanField(default=False)
    motivation = models.TextField(null=True, blank=True)
    clean_datetime = models.DateTimeField(null=True, blank=True)
    retried = models.BooleanField(default=False)

    # The workflow's progress (exports.services.workflow): the step being run, the remote task it waits
    # for, when the run began (for the overall timeout and the duration), the last status request, and
    # how many status requests failed.
    step = models.CharField(max_length=40, blank=True, default="")
    step_task_id = models.TextField(blank=True, default="")
    launched_at = models.DateTimeField(null=True, blank=True)
    polled_at = models.DateTimeField(null=True, blank=True)
    poll_failures = models.PositiveSmallIntegerField(default=0)

    @property
    def target_full_path(self) -> str:
        if not self.target_location or not self.target_name:
            return ""
        return f"{self.target_location.rstrip('/')}/{self.target_name}"

    @property
    def available_until(self):
        return self.created_at + timedelta(days=settings.DAYS_TO_KEEP_EXPORTED_FILES)

    @property
    def files_available(self) -> bool:
        return self.clean_datetime is None and timezone.now() < self.available_until


class ExportTable(CohortBaseModel):
    name = models.CharField(max_length=55)
    export = models.ForeignKey(Export, on_delete=models.CASCADE, related_name="export_tables")
    respect_table_relationships = models.BooleanField(default=True)
    fhir_filter = models.ForeignKey(FhirFilter, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    cohort_result_source = models.ForeignKey(
        CohortResult, on_delete=models.SET_NULL, null=True, blank=True, related_name="export_tables"
    )
    cohort_result_subset = models.ForeignKey(
        CohortResult, on_delete=models.SET_NULL, null=True, blank=True, related_name="subset_export_tables"
    )
    # Lists of strings (JSON, so that the embedded SQLite mode runs the same migrations).
    columns = models.JSONField(null=True, blank=True)
    pivot_merge = models.BooleanField(default=False)
    pivot_merge_columns = models.JSONField(null=True, blank=True)
    pivot_merge_ids = models.JSONField(null=True, blank=True)

    class Meta(CohortBaseModel.Meta):
        ordering = ["created_at"]


class StatType(models.TextChoices):
    INTEGER = "Integer"
    TEXT = "Text"
    SIZE_BYTES = "SizeBytes"


class ExportResultStat(CohortBaseModel):
    export = models.ForeignKey(Export, on_delete=models.CASCADE, related_name="stats")
    name = models.CharField(max_length=55)
    type = models.CharField(max_length=20, choices=StatType.choices)
    value = models.CharField(max_length=55)
