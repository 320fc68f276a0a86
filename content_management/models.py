from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models

from admin_cohort.changed_columns import ChangedColumnsModel
from content_management.content_types import (
    CONTENT_TYPE_CHOICES,
    CONTENT_TYPES,
    INVALID_CONTENT_TYPE_MESSAGE,
    METADATA_NAMES,
)


class Content(ChangedColumnsModel):
    """A banner or a release note shown by the UIs; soft-deleted through `deleted_at`."""

    title = models.CharField(max_length=200)
    content = models.TextField()
    page = models.CharField(max_length=100)
    content_type = models.CharField(max_length=20, choices=CONTENT_TYPE_CHOICES)
    created_at = models.DateTimeField(auto_now_add=True)
    modified_at = models.DateTimeField(auto_now=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["content_type", "page"])]

    def __str__(self) -> str:
        return self.title

    def save(self, *args, **kwargs):
        # Writes that bypass the API (shell, data migrations) must not store a type the UIs cannot render.
        if self.content_type not in CONTENT_TYPES:
            raise ValidationError({"content_type": [INVALID_CONTENT_TYPE_MESSAGE]})
        super().save(*args, **kwargs)


class ContentMetadata(models.Model):
    content = models.ForeignKey(Content, on_delete=models.CASCADE, related_name="metadata")
    name = models.CharField(max_length=20, choices=[(name, name) for name in METADATA_NAMES])
    value = models.CharField(max_length=255)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["content", "name"], name="unique_content_metadata_name")]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"
