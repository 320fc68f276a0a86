"""FilterSets of the exports lists (spec 02 §15.2-§15.7; client contract EXP-1, EXP-2, EXP-8, DL-1)."""

from __future__ import annotations

from django.db.models import Q
from django_filters import rest_framework as filters

from admin_cohort.filters import CommaListFilter, DateOrDateTimeFilter
from cohort.filters.workspace import FhirFilterFilter
from cohort.models import CohortResult
from exports.models import Datalab, Export, ExportResultStat, InfrastructureProvider


class ExportFilter(filters.FilterSet):
    output_format = CommaListFilter()
    status = CommaListFilter(field_name="request_job_status")
    # The Portail's names (EXP-2), which the reference ignored.
    request_job_status = CommaListFilter(field_name="request_job_status")
    owner = filters.CharFilter(method="filter_owner", help_text="Part of the owner's username, first or last name")
    motivation = filters.CharFilter(lookup_expr="icontains")
    created_at_gte = DateOrDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_at_lte = DateOrDateTimeFilter(field_name="created_at", lookup_expr="lte")
    insert_datetime_gte = DateOrDateTimeFilter(field_name="created_at", lookup_expr="gte")
    insert_datetime_lte = DateOrDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = Export
        fields: list[str] = []

    def filter_owner(self, queryset, name, value):
        return queryset.filter(
            Q(owner__username__icontains=value)
            | Q(owner__firstname__icontains=value)
            | Q(owner__lastname__icontains=value)
        )


class ExportableCohortFilter(filters.FilterSet):
    owner_id = filters.CharFilter(help_text="Username of the owner")

    class Meta:
        model = CohortResult
        fields: list[str] = []


class ExportableFhirFilterFilter(FhirFilterFilter):
    owner_id = filters.CharFilter(help_text="Username of the owner")


class DatalabFilter(filters.FilterSet):
    name = filters.CharFilter()
    infra_provider = filters.CharFilter(field_name="infrastructure_provider__name", lookup_expr="icontains")

    class Meta:
        model = Datalab
        fields: list[str] = []


class InfrastructureProviderFilter(filters.FilterSet):
    name = filters.CharFilter()

    class Meta:
        model = InfrastructureProvider
        fields: list[str] = []


class ExportResultStatFilter(filters.FilterSet):
    # A substring: the reference declared a datetime filter here, refusing every name (§15.7).
    name = filters.CharFilter(lookup_expr="icontains")
    export = filters.UUIDFilter()
    export_target_name = filters.CharFilter(field_name="export__target_name", lookup_expr="icontains")
    type = filters.CharFilter()

    class Meta:
        model = ExportResultStat
        fields: list[str] = []
