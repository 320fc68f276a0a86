"""Writes of web contents."""

from __future__ import annotations

from collections.abc import Mapping

from django.db import transaction
from django.utils import timezone

from admin_cohort.changed_columns import update_columns
from content_management.models import Content, ContentMetadata


@transaction.atomic
def create_content(*, data: Mapping, metadata: Mapping[str, str] | None = None) -> Content:
    content = Content.objects.create(**data)
    if metadata:
        _replace_metadata(content, metadata)
    return content


@transaction.atomic
def update_content(*, content: Content, data: Mapping, metadata: Mapping[str, str] | None = None) -> Content:
    """Applies the given fields; a given `metadata` (even empty) replaces all of it, None keeps it."""
    update_columns(content, data)
    if metadata is not None:
        _replace_metadata(content, metadata)
    return content


@transaction.atomic
def delete_content(*, content: Content) -> None:
    content.deleted_at = timezone.now()
    content.save(update_fields=["deleted_at", "modified_at"])


def _replace_metadata(content: Content, metadata: Mapping[str, str]) -> None:
    content.metadata.all().delete()
    ContentMetadata.objects.bulk_create(
        ContentMetadata(content=content, name=name, value=value) for name, value in metadata.items()
    )
    # A list view may have prefetched the old rows onto this instance.
    getattr(content, "_prefetched_objects_cache", {}).pop("metadata", None)
