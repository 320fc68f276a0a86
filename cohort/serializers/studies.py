"""Shapes of the feasibility study and refresh schedule endpoints (spec 02 §4.9, §4.10)."""

from __future__ import annotations

from rest_framework import serializers

from cohort.models import FeasibilityStudy, RequestQuerySnapshot, RequestRefreshSchedule
from cohort.serializers.base import CohortModelSerializer, OwnedRelatedField, OwnerField


class FeasibilityStudySerializer(serializers.ModelSerializer):
    class Meta:
        model = FeasibilityStudy
        fields = [
            "uuid",
            "owner",
            "created_at",
            "request_job_status",
            "request_job_fail_msg",
            "total_count",
            "request_query_snapshot",
        ]
        read_only_fields = fields


class FeasibilityStudyCreateSerializer(CohortModelSerializer):
    request_query_snapshot = OwnedRelatedField(queryset=RequestQuerySnapshot.objects.all())

    class Meta:
        model = FeasibilityStudy
        fields = ["request_query_snapshot"]


class RequestRefreshScheduleSerializer(CohortModelSerializer):
    owner = OwnerField()
    request_snapshot = OwnedRelatedField(queryset=RequestQuerySnapshot.objects.all())
    refresh_time = serializers.TimeField(format="%H:%M:%S")

    class Meta:
        model = RequestRefreshSchedule
        fields = [
            "uuid",
            "created_at",
            "modified_at",
            "deleted",
            "deleted_by_cascade",
            "owner",
            "request_snapshot",
            "refresh_time",
            "refresh_frequency",
            "notify_owner",
            "last_refresh",
            "last_refresh_succeeded",
            "last_refresh_count",
            "last_refresh_error_msg",
            "next_run_at",
        ]
        read_only_fields = [
            "uuid",
            "created_at",
            "modified_at",
            "deleted",
            "deleted_by_cascade",
            "last_refresh",
            "last_refresh_succeeded",
            "last_refresh_count",
            "last_refresh_error_msg",
            "next_run_at",
        ]

    def validate_request_snapshot(self, snapshot: RequestQuerySnapshot) -> RequestQuerySnapshot:
        if self.instance is not None:
            if snapshot.pk != self.instance.request_snapshot_id:
                # Its runs submit the translation made at creation for that snapshot.
                raise serializers.ValidationError(
                    "A schedule cannot move to another snapshot: delete it and create another one."
                )
        elif RequestRefreshSchedule.objects.filter(request_snapshot=snapshot).exists():
            raise serializers.ValidationError("This snapshot already has a refresh schedule.")
        return snapshot
