"""Query parameters of the access-management lists (spec 01 §11), one FilterSet per list."""

from __future__ import annotations

import django_filters as filters
from django.db.models import BooleanField, Case, Q, QuerySet, Value, When
from django.utils import timezone

from accesses import catalogue
from accesses.models import RIGHT_FLAGS, Access, Perimeter, Profile, Role
from accesses.models.access import role_holds_any
from accesses.selectors import ancestors_by_perimeter, descendant_ids
from accesses.services.user_rights import UserRights
from admin_cohort.filters import CommaListFilter, DateOrDateTimeFilter, StrictBooleanFilter


class FlagFilter(StrictBooleanFilter):
    def apply(self, qs, value: bool):
        return qs.filter(**{self.field_name: value})


def _search(queryset: QuerySet, fields: tuple[str, ...], value: str) -> QuerySet:
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__icontains": value})
    return queryset.filter(condition)


class PerimeterFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")
    source_value = filters.CharFilter(lookup_expr="icontains")
    type_source_value = CommaListFilter(help_text="Comma-separated types")
    cohort_id = CommaListFilter(help_text="Comma-separated perimeter cohort ids")
    parent_id = CommaListFilter(cast=int, help_text="Comma-separated parent ids")
    local_id = CommaListFilter(help_text="Comma-separated local ids")
    search = filters.CharFilter(method="filter_search", help_text="In name, type and source value")
    ordering = filters.OrderingFilter(
        fields=(
            ("name", "care_site_name"),
            ("type_source_value", "care_site_type_source_value"),
            ("source_value", "care_site_source_value"),
        )
    )

    class Meta:
        model = Perimeter
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        return _search(queryset, ("name", "type_source_value", "source_value"), value)


class RoleFilter(filters.FilterSet):
    name = filters.CharFilter(lookup_expr="icontains")
    ordering = filters.OrderingFilter(fields=("name",))

    class Meta:
        model = Role
        fields: list[str] = []


for _flag in RIGHT_FLAGS:
    RoleFilter.base_filters[_flag] = FlagFilter(field_name=_flag, help_text="`true` or `false`")


class ProfileFilter(filters.FilterSet):
    user_id = filters.CharFilter(field_name="user_id", help_text="Exact username")
    search = filters.CharFilter(method="filter_search", help_text="In first name, last name and username")

    class Meta:
        model = Profile
        fields = ["source", "is_active"]

    def filter_search(self, queryset, name, value):
        return _search(queryset, ("user__firstname", "user__lastname", "user__username"), value)


def with_validity(accesses: QuerySet[Access]) -> QuerySet[Access]:
    """`valid_now` computed in SQL (start <= now <= end), to order by validity."""
    now = timezone.now()
    return accesses.annotate(
        valid_now=Case(
            When(start_datetime__lte=now, end_datetime__gte=now, then=Value(True)),
            default=Value(False),
            output_field=BooleanField(),
        )
    )


class BooleanLiteralFilter(StrictBooleanFilter):
    """Read by AccessFilter.filter_queryset together with `perimeter_id`."""

    def apply(self, qs, value: bool):
        return qs


class AccessFilter(filters.FilterSet):
    source = filters.CharFilter()
    role_id = filters.NumberFilter()
    profile_id = filters.NumberFilter()
    perimeter_id = filters.NumberFilter(
        method="filter_perimeter", help_text="Valid accesses on this perimeter (see `include_*`)"
    )
    include_parents = BooleanLiteralFilter(help_text="With `perimeter_id`: also inherited accesses from above")
    include_children = BooleanLiteralFilter(help_text="With `perimeter_id`: also accesses on sub-perimeters")
    start_datetime = DateOrDateTimeFilter(lookup_expr="exact")
    end_datetime = DateOrDateTimeFilter(lookup_expr="exact")
    search = filters.CharFilter(method="filter_search", help_text="In user names, e-mail, role and perimeter")
    ordering = filters.OrderingFilter(
        fields=(
            ("start_datetime", "start_datetime"),
            ("end_datetime", "end_datetime"),
            ("created_by__lastname", "created_by"),
            ("updated_by__lastname", "updated_by"),
            ("role__name", "role_name"),
            ("perimeter__name", "perimeter_name"),
            ("valid_now", "is_valid"),
        )
    )

    class Meta:
        model = Access
        fields: list[str] = []

    def filter_search(self, queryset, name, value):
        fields = (
            "profile__user__firstname",
            "profile__user__lastname",
            "profile__user__email",
            "profile__user__username",
            "role__name",
            "perimeter__name",
        )
        return _search(queryset, fields, value)

    def filter_perimeter(self, queryset, name, perimeter_id):
        """Currently valid accesses on the perimeter, and with `include_*` those above and below it."""
        perimeter_id = int(perimeter_id)
        on = Q(perimeter_id=perimeter_id)
        if self.form.cleaned_data.get("include_parents") == "true":
            ancestors = ancestors_by_perimeter([perimeter_id])[perimeter_id]
            on |= Q(perimeter_id__in=ancestors) & role_holds_any(catalogue.IMPACT_INFERIOR_LEVELS)
        # Sub-perimeters' accesses are listed only to those who may manage below their own perimeter.
        if self.form.cleaned_data.get("include_children") == "true" and UserRights.of_request(self.request).holds(
            *catalogue.INFERIOR_LEVELS
        ):
            on |= Q(perimeter_id__in=descendant_ids([perimeter_id], including_roots=False))
        return queryset.filter(on).valid_now()
