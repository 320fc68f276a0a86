from __future__ import annotations

from datetime import UTC, datetime, time

import django_filters as filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.exceptions import ValidationError

from admin_cohort.models import MaintenancePhase, RequestLog, User
from admin_cohort.plugins import rights


def boolean_literal(name: str, value: str | None) -> bool:
    """The JSON literals `true`/`false` the clients send; anything else is a 400 naming the parameter."""
    if value not in ("true", "false"):
        raise ValidationError({name: ["Must be `true` or `false`."]})
    return value == "true"


class StrictBooleanFilter(filters.CharFilter):
    """Only the JSON literals `true`/`false` (anything else is a 400, not a 500)."""

    def filter(self, qs, value):
        if value in (None, ""):
            return qs
        return self.apply(qs, boolean_literal(self.field_name, value))

    def apply(self, qs, value: bool):
        raise NotImplementedError


class BooleanFieldFilter(StrictBooleanFilter):
    """A boolean model field compared with a strict `true`/`false` parameter."""

    def apply(self, qs, value: bool):
        return qs.filter(**{self.field_name: value})


class ManualOnlyFilter(StrictBooleanFilter):
    def apply(self, qs, value: bool):
        return rights().restrict_to_users_with_manual_profile(qs) if value else qs


class WithAccessFilter(StrictBooleanFilter):
    def apply(self, qs, value: bool):
        return rights().restrict_to_users_with_valid_access(qs) if value else qs


class CommaListFilter(filters.CharFilter):
    """`a,b,c` -> field IN (a, b, c), values converted by `cast` (a bad value is a 400)."""

    def __init__(self, *args, cast=str, transform=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.cast = cast
        self.transform = transform

    def filter(self, qs, value):
        if not value:
            return qs
        try:
            values = [self.cast(v.strip()) for v in value.split(",") if v.strip()]
        except (TypeError, ValueError):
            raise ValidationError({self.field_name: [f"Invalid value {value!r}."]}) from None
        if self.transform:
            values = [self.transform(v) for v in values]
        return qs.filter(**{f"{self.field_name}__in": values})


class DateOrDateTimeFilter(filters.CharFilter):
    """An ISO datetime, or a date (`YYYY-MM-DD`) taken as midnight UTC; anything else is a 400."""

    def filter(self, qs, value):
        if not value:
            return qs
        moment = parse_datetime(value)
        if moment is None:
            day = parse_date(value)
            if day is None:
                raise ValidationError({self.field_name: [f"Invalid date or datetime {value!r}."]})
            moment = datetime.combine(day, time.min)
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment, UTC)
        return qs.filter(**{f"{self.field_name}__{self.lookup_expr}": moment})


class UserFilter(filters.FilterSet):
    username = filters.CharFilter(lookup_expr="icontains")
    firstname = filters.CharFilter(lookup_expr="icontains")
    lastname = filters.CharFilter(lookup_expr="icontains")
    email = filters.CharFilter(lookup_expr="icontains")
    manual_only = ManualOnlyFilter()
    with_access = WithAccessFilter()
    ordering = filters.OrderingFilter(
        fields=(
            ("firstname", "firstname"),
            ("lastname", "lastname"),
            ("username", "username"),
            ("email", "email"),
            ("created_by__lastname", "created_by"),
            ("updated_by__lastname", "updated_by"),
        )
    )

    class Meta:
        model = User
        fields = ["username", "firstname", "lastname", "email"]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        return super().filter_queryset(queryset).distinct()


class MaintenancePhaseFilter(filters.FilterSet):
    min_start_datetime = DateOrDateTimeFilter(field_name="start_datetime", lookup_expr="gte")
    max_end_datetime = DateOrDateTimeFilter(field_name="end_datetime", lookup_expr="lte")
    start_datetime = DateOrDateTimeFilter(lookup_expr="exact")
    end_datetime = DateOrDateTimeFilter(lookup_expr="exact")
    search = filters.CharFilter(method="search_subject")
    ordering = filters.OrderingFilter(fields=("start_datetime", "end_datetime"))

    class Meta:
        model = MaintenancePhase
        fields = ["subject"]

    def search_subject(self, queryset, name, value):
        return queryset.filter(subject__icontains=value)


class IPAddressFilter(filters.CharFilter):
    """A malformed address is a 400 (the database column is typed, comparing with garbage fails)."""

    field_class = forms.GenericIPAddressField


class RequestLogFilter(filters.FilterSet):
    method = CommaListFilter(transform=str.upper)
    status_code = CommaListFilter(cast=int)
    requested_at_after = DateOrDateTimeFilter(field_name="requested_at", lookup_expr="gte")
    requested_at_before = DateOrDateTimeFilter(field_name="requested_at", lookup_expr="lte")
    response_ms_min = filters.NumberFilter(field_name="response_ms", lookup_expr="gte")
    response_ms_max = filters.NumberFilter(field_name="response_ms", lookup_expr="lte")
    path = filters.CharFilter(
        method="filter_path", help_text="Exact path (`/accesses/` also finds `/accesses/accesses/`)"
    )
    path_contains = filters.CharFilter(method="filter_path_contains", help_text="May be given several times")
    response = filters.CharFilter(lookup_expr="icontains")
    errors = filters.CharFilter(lookup_expr="icontains")
    data = filters.CharFilter(lookup_expr="icontains")
    # By username, so that an unknown or deleted user gives an empty page rather than an error.
    user = filters.CharFilter(field_name="user_id")
    remote_addr = IPAddressFilter()
    ordering = filters.OrderingFilter(fields=("requested_at",))

    class Meta:
        model = RequestLog
        fields = ["id", "username_persistent", "view", "view_method", "host", "user_agent", "query_params"]

    def filter_path(self, queryset, name, value):
        # The Portail looks for access creations under `/accesses/`, the collection's path before the
        # accesses moved into the app of the same name (`/accesses/accesses/`): both layouts match.
        segments = value.strip("/")
        nested = f"/{segments}/{segments}/" if segments and "/" not in segments else value
        return queryset.filter(Q(path=value) | Q(path=nested))

    def filter_path_contains(self, queryset, name, value):
        # The Portail may send `path_contains` twice (a section and an access id): all must match.
        for fragment in self.request.query_params.getlist("path_contains") if self.request else [value]:
            queryset = queryset.filter(path__icontains=fragment)
        return queryset
