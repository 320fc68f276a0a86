"""The common base of the cohort models (spec 02 §3.1): uuid keys, audit datetimes, cascading soft delete."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone

from admin_cohort.changed_columns import ChangedColumnsModel


class AliveManager(models.Manager):
    def get_queryset(self) -> models.QuerySet:
        return super().get_queryset().filter(deleted__isnull=True)


class CohortBaseModel(ChangedColumnsModel):
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


class HistorizedModel(OwnedModel):
    """Keeps every previous value of `history_field` (a query text) in a patch table, so that bulk rewrites
    (query format upgrades, perimeter renames) can be undone. The row is locked while the version is numbered."""

    history_field: str = ""
    # The patch model, its foreign key to this model, and the fields holding the uuid text and the old value.
    history_patches: tuple[str, str, str, str] = ("", "", "", "")

    class Meta(OwnedModel.Meta):
        abstract = True

    def save(self, *args, **kwargs):
        with transaction.atomic():
            if not self._state.adding:
                previous = (
                    type(self)
                    .all_objects.select_for_update()
                    .filter(pk=self.pk)
                    .values_list(self.history_field, flat=True)
                    .first()
                )
                if previous is not None and previous != getattr(self, self.history_field):
                    self._record_patch(previous)
            super().save(*args, **kwargs)

    def _record_patch(self, previous: str) -> None:
        label, owner_field, uuid_field, value_field = self.history_patches
        patch_model = self._meta.apps.get_model(label)
        last = patch_model.objects.filter(**{owner_field: self}).aggregate(last=models.Max("patch_version"))["last"]
        patch_model.objects.create(
            **{owner_field: self, uuid_field: str(self.pk), "patch_version": (last or 0) + 1, value_field: previous}
        )
