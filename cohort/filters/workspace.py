"""FilterSets of the researcher's workspace lists (spec 02 §4.3-§4.5, §4.8)."""

from __future__ import annotations

from django_filters import rest_framework as filters

from admin_cohort.filters import BooleanFieldFilter, DateOrDateTimeFilter
from cohort.models import FhirFilter, Folder, Request, RequestQuerySnapshot


class FolderFilter(filters.FilterSet):
    name = filters.CharFilter()
    min_created_at = DateOrDateTimeFilter(field_name="created_at", lookup_expr="gte")
    max_created_at = DateOrDateTimeFilter(field_name="created_at", lookup_expr="lte")

    class Meta:
        model = Folder
        fields: list[str] = []


class RequestFilter(filters.FilterSet):
    favorite = BooleanFieldFilter()
    shared_by = filters.CharFilter(help_text="Username of the sharer")
    parent_folder = filters.UUIDFilter()
    # On the creation time of the latest snapshot, annotated by the view.
    min_updated_at = DateOrDateTimeFilter(field_name="updated_at", lookup_expr="gte")
    max_updated_at = DateOrDateTimeFilter(field_name="updated_at", lookup_expr="lte")

    class Meta:
        model = Request
        fields: list[str] = []


class RequestQuerySnapshotFilter(filters.FilterSet):
    request = filters.UUIDFilter()
    request_id = filters.UUIDFilter(field_name="request")
    name = filters.CharFilter()
    shared_by = filters.CharFilter(help_text="Username of the sharer")
    previous_snapshot = filters.UUIDFilter()
    request__parent_folder = filters.UUIDFilter()

    class Meta:
        model = RequestQuerySnapshot
        fields: list[str] = []


class FhirFilterFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")
    owner = filters.CharFilter(help_text="Username of the owner")
    fhir_resource = filters.CharFilter(lookup_expr="icontains")
    fhir_filter = filters.CharFilter(field_name="filter", lookup_expr="icontains")
    query_version = filters.CharFilter()
    identifying = BooleanFieldFilter()

    class Meta:
        model = FhirFilter
        fields: list[str] = []
