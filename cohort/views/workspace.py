"""Folders, requests and query snapshots of the researcher's workspace (spec 02 §4.3-§4.5, §10).

Lists read everything they show through annotations and prefetches: a page costs the same few queries
whatever its size (spec 02 §21.22).
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Prefetch, QuerySet, Subquery
from django.db.models.functions import Coalesce
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from cohort.filters.workspace import FolderFilter, RequestFilter, RequestQuerySnapshotFilter
from cohort.models import CohortResult, Folder, Request, RequestQuerySnapshot
from cohort.selectors import shown_measures
from cohort.serializers.jobs_nested import NestedCohortResultSerializer
from cohort.serializers.workspace import (
    FolderSerializer,
    RequestQuerySnapshotSerializer,
    RequestSerializer,
    ShareSerializer,
    SnapshotCreateSerializer,
)
from cohort.services import sharing, snapshots
from cohort.views.base import OwnedViewSet


def _count_of(queryset: QuerySet, link: str) -> Coalesce:
    """How many rows of `queryset` point to the outer row through `link`, as a scalar subquery.

    A subquery rather than a JOIN + GROUP BY: the outer rows are not grouped by all their columns.
    """
    counted = queryset.filter(**{link: OuterRef("pk")}).order_by().values(link).annotate(n=Count("pk")).values("n")
    return Coalesce(Subquery(counted, output_field=IntegerField()), 0)


def _snapshot_summaries() -> QuerySet[RequestQuerySnapshot]:
    latest_measure = shown_measures().filter(request_query_snapshot=OuterRef("pk")).order_by("-created_at")
    return (
        RequestQuerySnapshot.objects.only("uuid", "name", "created_at", "version", "request_id")
        .annotate(
            cohorts_count=_count_of(CohortResult.objects.all(), "request_query_snapshot"),
            patients_count=Subquery(latest_measure.values("measure")[:1]),
        )
        .order_by("-created_at")
    )


class WorkspaceViewSet(OwnedViewSet):
    """Writes answer with the row as the lists show it (annotations included)."""

    def loaded(self, queryset: QuerySet) -> QuerySet:
        """`queryset` with what the representation reads."""
        return queryset

    def get_queryset(self) -> QuerySet:
        return self.loaded(super().get_queryset()).order_by("-created_at", "pk")

    def represent(self, instance) -> dict:
        # Not through the nested route's filter: a PATCH may have moved the row to another parent. A 404 when a
        # delete committed while the row was being saved.
        return self.get_serializer(get_object_or_404(self.loaded(self.base_queryset()), pk=instance.pk)).data

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=self.input_data())
        serializer.is_valid(raise_exception=True)
        return Response(self.represent(serializer.save()), status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        return Response(self.represent(serializer.save()))


class FolderViewSet(WorkspaceViewSet):
    model = Folder
    serializer_class = FolderSerializer
    filterset_class = FolderFilter
    search_fields = ["name"]
    ordering_fields = ["name", "created_at", "modified_at"]
    cache_models = ("cohort.Request",)

    def loaded(self, queryset: QuerySet[Folder]) -> QuerySet[Folder]:
        return queryset.annotate(requests_count=_count_of(Request.objects.all(), "parent_folder"))


class RequestViewSet(WorkspaceViewSet):
    model = Request
    serializer_class = RequestSerializer
    filterset_class = RequestFilter
    nested_filters = {"parent_folder": "parent_folder_id"}
    search_fields = ["name", "description"]
    ordering_fields = ["name", "updated_at", "parent_folder", "created_at", "modified_at"]
    ordering_aliases = {"parent_folder": "parent_folder__name"}
    cache_models = (
        "cohort.Folder",
        "cohort.RequestQuerySnapshot",
        "cohort.DatedMeasure",
        "cohort.CohortResult",
        settings.AUTH_USER_MODEL,
    )

    def loaded(self, queryset: QuerySet[Request]) -> QuerySet[Request]:
        latest = RequestQuerySnapshot.objects.filter(request=OuterRef("pk")).order_by("-created_at")
        return (
            queryset.annotate(updated_at=Subquery(latest.values("created_at")[:1]))
            .select_related("parent_folder", "shared_by")
            # Into a list: without `to_attr`, Django builds one queryset per request to hold its snapshots.
            .prefetch_related(Prefetch("query_snapshots", queryset=_snapshot_summaries(), to_attr="snapshot_summaries"))
        )


class RequestQuerySnapshotViewSet(WorkspaceViewSet):
    model = RequestQuerySnapshot
    serializer_class = RequestQuerySnapshotSerializer
    filterset_class = RequestQuerySnapshotFilter
    http_method_names = ["get", "post", "patch", "head", "options"]
    nested_filters = {"request_id": "request_id", "previous_snapshot": "previous_snapshot_id"}
    ordering_fields: list[str] = []
    cached_actions = ()

    def loaded(self, queryset: QuerySet[RequestQuerySnapshot]) -> QuerySet[RequestQuerySnapshot]:
        measures = shown_measures().order_by("-created_at")
        cohorts = NestedCohortResultSerializer.loaded(CohortResult.objects.order_by("-created_at"))
        return queryset.prefetch_related(
            Prefetch("dated_measures", queryset=measures), Prefetch("cohort_results", queryset=cohorts)
        )

    @extend_schema(request=SnapshotCreateSerializer, responses={201: RequestQuerySnapshotSerializer})
    def create(self, request, *args, **kwargs):
        data = self.input_data()
        parents = SnapshotCreateSerializer(data=data, context=self.get_serializer_context())
        parents.is_valid(raise_exception=True)
        snapshot = snapshots.create_snapshot(
            owner=request.user,
            serialized_query=data.get("serialized_query"),  # a JSON object: the serializer refuses anything else
            request=parents.validated_data.get("request"),
            previous_snapshot=parents.validated_data.get("previous_snapshot"),
        )
        return Response(self.represent(snapshot), status=status.HTTP_201_CREATED)

    @extend_schema(request=ShareSerializer, responses={201: None})
    @action(detail=True, methods=["post"])
    def share(self, request, *args, **kwargs):
        snapshot = self.get_object()
        body = ShareSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        sharing.share_snapshot(snapshot=snapshot, sharer=request.user, **body.validated_data)
        return Response(status=status.HTTP_201_CREATED)
