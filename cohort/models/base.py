"""The common base of the cohort models (spec 02 §3.1): uuid keys, audit datetimes, cascading soft delete."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class AliveManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(deleted__isnull=True)


class CohortBaseModel(models.Model):
    uuid = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    modified_at = models.DateTimeField(auto_now=True)
    deleted = models.DateTimeField(null=True, blank=True, editable=False)
    deleted_by_cascade = models.BooleanField(default=False, editable=False)

    objects = AliveManager()
    all_objects = models.Manager()

    class Meta:
        abstract = True
        base_manager_name = "all_objects"

    def delete(self, using=None, keep_parents=False):
        from cohort.services.soft_delete import soft_delete

        soft_delete(type(self), [self.pk])
        return 1, {self._meta.label: 1}


class OwnedModel(CohortBaseModel):
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")

    class Meta(CohortBaseModel.Meta):
        abstract = True
