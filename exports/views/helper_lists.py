"""The cohorts and FHIR filters the Portail picks from to build a Jupyter transfer (spec 02 §15.4, EXP-8)."""

from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import viewsets
from rest_framework.filters import SearchFilter
from rest_framework.permissions import IsAuthenticated

from admin_cohort.pagination import NegativeLimitOffsetPagination
from cohort.filters import CohortOrderingFilter
from cohort.models import CohortResult, FhirFilter
from cohort.serializers.fhir_filters import FhirFilterSerializer
from exports.filters import ExportableCohortFilter, ExportableFhirFilterFilter
from exports.selectors import exportable_cohorts, exportable_fhir_filters
from exports.serializers import ExportableCohortSerializer


class OwnDetailsViewSet(viewsets.ReadOnlyModelViewSet):
    """Lists narrowed by a selector (administrators see everybody's rows); a detail is its owner's only."""

    lookup_field = "uuid"
    permission_classes = [IsAuthenticated]
    pagination_class = NegativeLimitOffsetPagination
    filter_backends = [DjangoFilterBackend, SearchFilter, CohortOrderingFilter]
    ordering = ["-created_at"]
    selector = None  # (user, own_only=...) -> the rows listed to them

    def get_queryset(self):
        return self.selector(self.request.user, own_only=self.action == "retrieve").select_related("owner")


class ExportableCohortViewSet(OwnDetailsViewSet):
    queryset = CohortResult.objects.none()  # the model, for the schema
    serializer_class = ExportableCohortSerializer
    filterset_class = ExportableCohortFilter
    search_fields = ["name"]
    ordering_fields = ["created_at", "name"]
    selector = staticmethod(exportable_cohorts)


class ExportableFhirFilterViewSet(OwnDetailsViewSet):
    queryset = FhirFilter.objects.none()  # the model, for the schema
    serializer_class = FhirFilterSerializer
    filterset_class = ExportableFhirFilterFilter
    # Substrings, where the reference matched the user's text as a regular expression (§21.10).
    search_fields = ["name", "fhir_resource", "filter"]
    ordering_fields = ["created_at", "name"]
    selector = staticmethod(exportable_fhir_filters)
