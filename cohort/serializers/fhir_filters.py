"""Shapes of the saved FHIR filters (spec 02 §4.8, client contract FF-1..FF-5)."""

from __future__ import annotations

from rest_framework import serializers

from cohort.models import FhirFilter


class FhirFilterSerializer(serializers.ModelSerializer):
    # The owner's display string (`Alice MARTIN (1000001)`), as the web app shows it (FF-1).
    owner = serializers.StringRelatedField(read_only=True)

    class Meta:
        model = FhirFilter
        fields = [
            "uuid",
            "owner",
            "deleted",
            "deleted_by_cascade",
            "created_at",
            "modified_at",
            "fhir_resource",
            "fhir_version",
            "query_version",
            "name",
            "filter",
            "identifying",
            "auto_generated",
        ]
        read_only_fields = ["auto_generated"]
        extra_kwargs = {"name": {"min_length": 2}}


class UuidListSerializer(serializers.Serializer):
    uuids = serializers.ListField(child=serializers.UUIDField(), allow_empty=True)
