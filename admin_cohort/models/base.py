"""The common base of every domain model: audit datetimes and soft deletion."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from admin_cohort.changed_columns import ChangedColumnsModel


class AliveManager(models.Manager):
    """Hides soft-deleted rows: the default everywhere (lists, retrieves, foreign-key validation)."""

    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(delete_datetime__isnull=True)


class BaseModel(ChangedColumnsModel):
    insert_datetime = models.DateTimeField(default=timezone.now, editable=False)
    update_datetime = models.DateTimeField(auto_now=True)
    delete_datetime = models.DateTimeField(null=True, blank=True)

    objects = AliveManager()
    all_objects = models.Manager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    def delete(self, using=None, keep_parents=False):
        """Soft delete: the row stays, stamped with its deletion time."""
        self.delete_datetime = timezone.now()
        self.save(update_fields=["delete_datetime", "update_datetime"])
        return 1, {self._meta.label: 1}

    @property
    def is_deleted(self) -> bool:
        return self.delete_datetime is not None
