"""Datalabs (Jupyter environments) and their infrastructure providers (spec 02 §15.5-§15.6, DL-1..3)."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import mixins, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.filters import SearchFilter

from admin_cohort.pagination import NegativeLimitOffsetPagination, PageNumberPagination
from admin_cohort.views.mixins import AuditedViewMixin
from cohort.filters import CohortOrderingFilter
from exports.filters import DatalabFilter, InfrastructureProviderFilter
from exports.models import Datalab, InfrastructureProvider
from exports.permissions import DatalabsPermission
from exports.serializers import DATALAB_NAME_TAKEN, DatalabSerializer, InfrastructureProviderSerializer


class DatalabViewSet(
    AuditedViewMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Datalab.objects.select_related("infrastructure_provider")
    serializer_class = DatalabSerializer
    lookup_field = "uuid"
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_classes = [DatalabsPermission]
    pagination_class = PageNumberPagination  # the only page-numbered exports list (client contract §1.4)
    filter_backends = [DjangoFilterBackend, SearchFilter, CohortOrderingFilter]
    filterset_class = DatalabFilter
    search_fields = ["name", "infrastructure_provider__name"]
    ordering_fields = ["created_at", "name"]
    ordering = ["name"]

    def perform_create(self, serializer):
        self._save(serializer)

    def perform_update(self, serializer):
        self._save(serializer)

    @staticmethod
    def _save(serializer) -> None:
        # A concurrent request may take the name between the serializer's check and the insert: the unique index
        # decides, and that is still the caller's bad input, not a conflict nor a crash.
        try:
            with transaction.atomic():
                serializer.save()
        except IntegrityError:
            raise ValidationError({"name": [DATALAB_NAME_TAKEN]}) from None


class InfrastructureProviderViewSet(AuditedViewMixin, viewsets.ModelViewSet):
    queryset = InfrastructureProvider.objects.all()
    serializer_class = InfrastructureProviderSerializer
    lookup_field = "uuid"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_classes = [DatalabsPermission]
    pagination_class = NegativeLimitOffsetPagination
    filter_backends = [DjangoFilterBackend, SearchFilter, CohortOrderingFilter]
    filterset_class = InfrastructureProviderFilter
    search_fields = ["name"]
    ordering_fields = ["name"]
    ordering = ["name"]
