"""Shapes of the count and cohort endpoints (spec 02 §4.6, §4.7)."""

from __future__ import annotations

import re

from rest_framework import serializers

from cohort.models import CohortResult, DatedMeasure, RequestQuerySnapshot
from cohort.serializers.base import CohortModelSerializer, OwnedRelatedField
from cohort.serializers.jobs_nested import NestedCohortResultSerializer

_STAGE_DETAILS = re.compile(r"^(all|ratio|-?\d+(,-?\d+)*)$")


class DatedMeasureCreateSerializer(CohortModelSerializer):
    request_query_snapshot = OwnedRelatedField(queryset=RequestQuerySnapshot.objects.all())
    stageDetails = serializers.CharField(required=False, allow_null=True, allow_blank=True, max_length=1000)  # noqa: N815

    class Meta:
        model = DatedMeasure
        fields = ["request_query_snapshot", "stageDetails"]

    def validate_stageDetails(self, value: str | None) -> str | None:  # noqa: N802
        if value and not _STAGE_DETAILS.match(value):
            raise serializers.ValidationError("Must be `all`, `ratio` or a comma list of criterion ids.")
        return value or None


class CohortCreateSerializer(CohortModelSerializer):
    """A cohort from a count, or a sample of a cohort (`parent_cohort` + `sampling_ratio`)."""

    request_query_snapshot = OwnedRelatedField(queryset=RequestQuerySnapshot.objects.all(), required=False)
    dated_measure = OwnedRelatedField(queryset=DatedMeasure.objects.all(), required=False)
    parent_cohort = OwnedRelatedField(queryset=CohortResult.objects.filter(is_subset=False), required=False)
    sampling_ratio = serializers.FloatField(required=False, allow_null=True)
    global_estimate = serializers.BooleanField(required=False, default=False)

    class Meta:
        model = CohortResult
        fields = [
            "name",
            "description",
            "favorite",
            "request_query_snapshot",
            "dated_measure",
            "parent_cohort",
            "sampling_ratio",
            "global_estimate",
        ]

    def validate(self, attrs: dict) -> dict:
        parent = attrs.get("parent_cohort")
        if parent is not None:
            ratio = attrs.get("sampling_ratio")
            if ratio is None or not 0 < ratio < 1:
                raise serializers.ValidationError({"sampling_ratio": ["Sampling ratio must be between 0 and 1"]})
            if parent.parent_cohort_id:
                raise serializers.ValidationError({"parent_cohort": ["A sample cannot be sampled"]})
            if not parent.group_id:
                raise serializers.ValidationError({"parent_cohort": ["The parent cohort has no patient list yet"]})
            return attrs
        snapshot, measure = attrs.get("request_query_snapshot"), attrs.get("dated_measure")
        if snapshot is None or measure is None:
            raise serializers.ValidationError(
                "A cohort needs `request_query_snapshot` and `dated_measure`, or `parent_cohort` and `sampling_ratio`"
            )
        if measure.request_query_snapshot_id != snapshot.pk:
            raise serializers.ValidationError({"dated_measure": ["This count is not a count of that snapshot"]})
        return attrs


class CohortUpdateSerializer(serializers.ModelSerializer):
    class Meta:
        model = CohortResult
        fields = ["name", "description", "favorite"]


class CohortResultSerializer(NestedCohortResultSerializer):
    """The list/detail representation: the nested one plus the `cohorts_with_sizes` annotations."""

    result_size = serializers.IntegerField(read_only=True)
    measure_min = serializers.IntegerField(read_only=True)
    measure_max = serializers.IntegerField(read_only=True)
    exportable = serializers.BooleanField(read_only=True)

    class Meta(NestedCohortResultSerializer.Meta):
        fields = [*NestedCohortResultSerializer.Meta.fields, "result_size", "measure_min", "measure_max", "exportable"]
        read_only_fields = fields
