"""FilterSets of the count and cohort lists (spec 02 §4.6, §4.7)."""

from __future__ import annotations

from django.db.models import Q
from django_filters import rest_framework as filters

from admin_cohort.filters import BooleanFieldFilter, CommaListFilter, DateOrDateTimeFilter, StrictBooleanFilter
from cohort.models import CohortResult


class IsSampleFilter(StrictBooleanFilter):
    def apply(self, qs, value: bool):
        return qs.filter(parent_cohort__isnull=not value)


class ExportableFilter(StrictBooleanFilter):
    def apply(self, qs, value: bool):
        exportable = Q(exportable=True)
        return qs.filter(exportable) if value else qs.exclude(exportable)


class CohortResultFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")
    min_result_size = filters.NumberFilter(field_name="result_size", lookup_expr="gte")
    max_result_size = filters.NumberFilter(field_name="result_size", lookup_expr="lte")
    min_created_at = DateOrDateTimeFilter(field_name="created_at", lookup_expr="gte")
    max_created_at = DateOrDateTimeFilter(field_name="created_at", lookup_expr="lte")
    request_id = filters.UUIDFilter(field_name="request_query_snapshot__request_id")
    favorite = BooleanFieldFilter()
    group_id = CommaListFilter(field_name="group_id")
    status = CommaListFilter(field_name="request_job_status")
    parent_cohort = filters.UUIDFilter()
    is_sample = IsSampleFilter()
    exportable = ExportableFilter()

    class Meta:
        model = CohortResult
        fields: list[str] = []
