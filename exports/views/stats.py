"""Statistics of finished exports, written by the export pipeline (spec 02 §15.7, §21.5)."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, viewsets
from rest_framework.filters import SearchFilter

from admin_cohort.pagination import NegativeLimitOffsetPagination
from admin_cohort.views.mixins import AuditedViewMixin
from cohort.filters import CohortOrderingFilter
from exports.filters import ExportResultStatFilter
from exports.models import ExportResultStat
from exports.permissions import ExportStatsPermission
from exports.selectors import visible_export_stats
from exports.serializers import ExportResultStatSerializer


class ExportResultStatViewSet(
    AuditedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = ExportResultStat.objects.none()  # the model, for the schema; get_queryset() restricts to the caller
    serializer_class = ExportResultStatSerializer
    lookup_field = "uuid"
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_classes = [ExportStatsPermission]
    pagination_class = NegativeLimitOffsetPagination
    filter_backends = [DjangoFilterBackend, SearchFilter, CohortOrderingFilter]
    filterset_class = ExportResultStatFilter
    ordering_fields = ["name", "type", "value", "export"]
    ordering_aliases = {"export": "export__target_name"}
    ordering = ["-created_at"]

    def get_queryset(self):
        return visible_export_stats(self.request.user)
