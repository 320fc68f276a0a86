"""The researcher's workspace: folders, requests and the version tree of their query snapshots (spec 02 §3.2-§3.4)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef

from cohort.models.base import AliveManager, HistorizedModel, OwnedModel

SHARED_FOLDER_NAME = "Mes requêtes reçues"


class Folder(OwnedModel):
    name = models.CharField(max_length=50)
    description = models.TextField(null=True, blank=True)

    class Meta(OwnedModel.Meta):
        db_table = "cohort_folder"
        indexes = [models.Index(fields=["owner", "created_at"], name="folder_owner_created")]


class Request(OwnedModel):
    name = models.CharField(max_length=255)
    description = models.TextField(blank=True, default="")
    favorite = models.BooleanField(default=False)
    parent_folder = models.ForeignKey(Folder, on_delete=models.CASCADE, related_name="requests")
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta(OwnedModel.Meta):
        db_table = "cohort_request"
        indexes = [models.Index(fields=["owner", "created_at"], name="request_owner_created")]


class VisibleSnapshotManager(AliveManager):
    """Hides soft-deleted snapshots and the technical copies made for export subsets (spec 02 §3.4, §1.8)."""

    def get_queryset(self) -> models.QuerySet:
        from cohort.models.measures import CohortResult

        subsets = CohortResult.all_objects.filter(request_query_snapshot=OuterRef("pk"), is_subset=True)
        return super().get_queryset().filter(~Exists(subsets))


class RequestQuerySnapshot(HistorizedModel):
    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="query_snapshots")
    serialized_query = models.TextField(default="{}")
    translated_query = models.TextField(null=True, blank=True)
    previous_snapshot = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="next_snapshots"
    )
    shared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    perimeters_ids = models.JSONField(null=True, blank=True)
    version = models.IntegerField(default=1)
    name = models.CharField(max_length=255, null=True, blank=True)

    objects = VisibleSnapshotManager()
    all_objects = models.Manager()
    history_field = "serialized_query"
    history_patches = ("cohort.RequestQuerySnapshotPatch", "snapshot", "snapshot_uuid", "serialized_query")

    class Meta(OwnedModel.Meta):
        db_table = "cohort_request_query_snapshot"
        indexes = [models.Index(fields=["request", "created_at"], name="snapshot_request_created")]


class RequestQuerySnapshotPatch(models.Model):
    """A previous text of a snapshot's query, so that bulk query migrations can be undone."""

    snapshot = models.ForeignKey(RequestQuerySnapshot, on_delete=models.CASCADE, related_name="patches")
    snapshot_uuid = models.CharField(max_length=36)
    patch_version = models.PositiveIntegerField()
    serialized_query = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "cohort_request_query_snapshot_patch"
        constraints = [
            models.UniqueConstraint(fields=["snapshot", "patch_version"], name="unique_snapshot_patch_version")
        ]
