"""Read representations of counts and cohorts, as nested in snapshots and as the count endpoints return them
(spec 02 §4.5-§4.7)."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.utils import timezone
from rest_framework import serializers

from admin_cohort.serializers import ModelFieldsBuiltOnce
from cohort.models import CohortResult, DatedMeasure, Request


class DatedMeasureSerializer(ModelFieldsBuiltOnce, serializers.ModelSerializer):
    count_outdated = serializers.SerializerMethodField()
    cohort_limit = serializers.SerializerMethodField()

    class Meta:
        model = DatedMeasure
        fields = [
            "uuid",
            "owner",
            "request_query_snapshot",
            "count_outdated",
            "cohort_limit",
            "deleted",
            "deleted_by_cascade",
            "created_at",
            "modified_at",
            "request_job_id",
            "request_job_status",
            "request_job_fail_msg",
            "request_job_duration",
            "fhir_datetime",
            "measure",
            "measure_min",
            "measure_max",
            "extra",
            "count_task_id",
            "mode",
        ]
        read_only_fields = fields

    def get_count_outdated(self, measure: DatedMeasure) -> bool:
        # Only a hint for the web app, which then offers a re-count; the backend never enforces it.
        return timezone.now() - measure.created_at > timedelta(hours=settings.LAST_COUNT_VALIDITY)

    def get_cohort_limit(self, measure: DatedMeasure) -> int:
        return settings.COHORT_SIZE_LIMIT


class _CohortSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = CohortResult
        fields = ["uuid", "name"]


class _SampleSerializer(serializers.ModelSerializer):
    class Meta:
        model = CohortResult
        fields = ["uuid", "name", "sampling_ratio"]


class _RequestSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Request
        fields = ["uuid", "name", "description"]


class NestedCohortResultSerializer(serializers.ModelSerializer):
    """The cohort representation without the list annotations (`result_size`, `measure_min`, `measure_max`,
    `exportable`). Read from `NestedCohortResultSerializer.loaded(queryset)`."""

    parent_cohort = _CohortSummarySerializer(read_only=True, allow_null=True)
    sample_cohorts = _SampleSerializer(many=True, read_only=True)
    request = _RequestSummarySerializer(source="request_query_snapshot.request", read_only=True, allow_null=True)

    class Meta:
        model = CohortResult
        fields = [
            "uuid",
            "name",
            "owner",
            "request_query_snapshot",
            "parent_cohort",
            "sampling_ratio",
            "sample_cohorts",
            "group_id",
            "request_job_status",
            "request_job_fail_msg",
            "request_job_duration",
            "created_at",
            "modified_at",
            "description",
            "favorite",
            "request",
        ]
        read_only_fields = fields

    @staticmethod
    def loaded(queryset: QuerySet[CohortResult]) -> QuerySet[CohortResult]:
        """`queryset` with what the representation reads, in a fixed number of queries."""
        samples = CohortResult.objects.only("uuid", "name", "sampling_ratio", "parent_cohort_id")
        return queryset.select_related("parent_cohort", "request_query_snapshot__request").prefetch_related(
            Prefetch("sample_cohorts", queryset=samples)
        )
