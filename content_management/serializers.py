from __future__ import annotations

from rest_framework import serializers

from content_management.content_types import CONTENT_TYPE_CHOICES, INVALID_CONTENT_TYPE_MESSAGE, METADATA_NAMES
from content_management.models import Content


class MetadataField(serializers.DictField):
    """An object of strings keyed by metadata name; numbers (the Portail sends `{"order": 1}`) become strings."""

    child = serializers.CharField(max_length=255, allow_blank=True)

    def to_internal_value(self, data):
        if isinstance(data, dict):
            unknown = [str(name) for name in data if name not in METADATA_NAMES]
            if unknown:
                raise serializers.ValidationError(f"Invalid metadata name(s): {', '.join(unknown)}")
        return super().to_internal_value(data)

    def to_representation(self, value) -> dict[str, str]:
        # `value` is the related manager; `.all()` reads the prefetched rows.
        return {row.name: row.value for row in value.all()}


class ContentSerializer(serializers.ModelSerializer):
    content_type = serializers.ChoiceField(
        choices=CONTENT_TYPE_CHOICES, error_messages={"invalid_choice": INVALID_CONTENT_TYPE_MESSAGE}
    )
    content_type_display = serializers.CharField(source="get_content_type_display", read_only=True)
    metadata = MetadataField(required=False, help_text=f"Keys among {', '.join(METADATA_NAMES)}")

    class Meta:
        model = Content
        fields = [
            "id",
            "title",
            "content",
            "page",
            "content_type",
            "content_type_display",
            "metadata",
            "created_at",
            "modified_at",
            "deleted_at",
        ]
        read_only_fields = ["id", "created_at", "modified_at"]


class ContentTypeSerializer(serializers.Serializer):
    label = serializers.CharField()
    description = serializers.CharField()
