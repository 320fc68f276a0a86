"""Saved FHIR filters (spec 02 §4.8, client contract FF-1..FF-5)."""

from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from cohort.filters.workspace import FhirFilterFilter
from cohort.models import FhirFilter
from cohort.serializers.fhir_filters import FhirFilterSerializer, UuidListSerializer
from cohort.services.fhir_filters import save_fhir_filter
from cohort.services.soft_delete import soft_delete
from cohort.views.base import OwnedViewSet


class FhirFilterViewSet(OwnedViewSet):
    model = FhirFilter
    serializer_class = FhirFilterSerializer
    filterset_class = FhirFilterFilter
    ordering_fields = ["created_at", "modified_at"]
    cache_models = (settings.AUTH_USER_MODEL,)

    def get_queryset(self) -> QuerySet[FhirFilter]:
        return super().get_queryset().select_related("owner").order_by("-created_at", "pk")

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        fhir_filter = save_fhir_filter(fhir_filter=FhirFilter(owner=request.user), values=serializer.validated_data)
        return Response(self.get_serializer(fhir_filter).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        fhir_filter = self.get_object()
        serializer = self.get_serializer(fhir_filter, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        fhir_filter = save_fhir_filter(fhir_filter=fhir_filter, values=serializer.validated_data)
        return Response(self.get_serializer(fhir_filter).data)

    @extend_schema(request=UuidListSerializer, responses={204: None})
    @action(detail=False, methods=["delete"], url_path="delete_multiple")
    def delete_multiple(self, request, *args, **kwargs):
        body = UuidListSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        # Only the caller's own filters: other users' uuids are silently left alone (spec 02 §21.1).
        owned = self.get_queryset().filter(pk__in=body.validated_data["uuids"])
        soft_delete(FhirFilter, owned.values_list("pk", flat=True))
        return Response(status=status.HTTP_204_NO_CONTENT)
