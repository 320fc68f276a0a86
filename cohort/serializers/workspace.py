"""Shapes of the folder, request and snapshot endpoints (spec 02 §4.3-§4.5, client contract §3.7-§3.9).

The list representations read annotations and prefetches made by the views (`requests_count`,
`updated_at`, the snapshots' `cohorts_count` and `patients_count`), never per-row queries.
"""

from __future__ import annotations

from rest_framework import serializers

from cohort.models import Folder, Request, RequestQuerySnapshot
from cohort.serializers.base import CohortModelSerializer, OwnedRelatedField, OwnerField
from cohort.serializers.jobs_nested import DatedMeasureSerializer, NestedCohortResultSerializer


class FolderSerializer(CohortModelSerializer):
    owner = OwnerField(write_only=True)
    requests_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Folder
        fields = ["uuid", "name", "description", "created_at", "requests_count", "owner"]


class ParentFolderField(OwnedRelatedField):
    """Written as the uuid of one of the caller's folders, read as `{uuid, name, description}`."""

    def use_pk_only_optimization(self) -> bool:
        return False

    def to_representation(self, folder: Folder) -> dict:
        return {"uuid": str(folder.uuid), "name": folder.name, "description": folder.description}

    def get_choices(self, cutoff=None) -> dict:
        # The browsable API keys its <select> by the representation, which must then be hashable.
        return {str(folder.pk): folder.name for folder in self.get_queryset()[:cutoff]}


class SnapshotSummarySerializer(serializers.ModelSerializer):
    cohorts_count = serializers.IntegerField(read_only=True)
    patients_count = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = RequestQuerySnapshot
        fields = ["uuid", "name", "created_at", "cohorts_count", "patients_count", "version"]
        read_only_fields = fields


class RequestSerializer(CohortModelSerializer):
    owner = OwnerField(write_only=True)
    parent_folder = ParentFolderField(queryset=Folder.objects.all())
    query_snapshots = SnapshotSummarySerializer(source="snapshot_summaries", many=True, read_only=True)
    shared_by = serializers.StringRelatedField(read_only=True)
    # Python's text of the datetime (`2026-06-01 10:00:00.123456+00:00`), as the reference renders it (REQ-1).
    updated_at = serializers.CharField(read_only=True, allow_null=True)

    class Meta:
        model = Request
        fields = [
            "uuid",
            "name",
            "description",
            "favorite",
            "query_snapshots",
            "shared_by",
            "parent_folder",
            "updated_at",
            "owner",
        ]


class RequestQuerySnapshotSerializer(serializers.ModelSerializer):
    """The list/detail representation; a PATCH may only rename the snapshot (spec 02 §4.5)."""

    dated_measures = DatedMeasureSerializer(many=True, read_only=True)
    cohort_results = NestedCohortResultSerializer(many=True, read_only=True)

    class Meta:
        model = RequestQuerySnapshot
        fields = [
            "uuid",
            "owner",
            "name",
            "version",
            "created_at",
            "modified_at",
            "request",
            "previous_snapshot",
            "serialized_query",
            "perimeters_ids",
            "dated_measures",
            "cohort_results",
        ]
        read_only_fields = [field for field in fields if field != "name"]


class SnapshotCreateSerializer(CohortModelSerializer):
    """The parents of a new snapshot; `serialized_query` is checked by the service, in the spec's order."""

    request = OwnedRelatedField(queryset=Request.objects.all(), required=False, allow_null=True)
    previous_snapshot = OwnedRelatedField(queryset=RequestQuerySnapshot.objects.all(), required=False, allow_null=True)

    class Meta:
        model = RequestQuerySnapshot
        fields = ["request", "previous_snapshot"]


class ShareSerializer(serializers.Serializer):
    recipients = serializers.CharField(default=None, allow_blank=True, allow_null=True)
    name = serializers.CharField(default=None, allow_blank=True, allow_null=True, max_length=255)
    notify_by_email = serializers.BooleanField(default=False)
