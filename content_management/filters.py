from __future__ import annotations

import re

import django_filters as filters
from django.db.models import Q, QuerySet
from rest_framework.exceptions import ValidationError

from admin_cohort.filters import CommaListFilter
from content_management.models import Content
from content_management.pagination import is_result_page_number


class ContentFilter(filters.FilterSet):
    # Unknown types simply match nothing: they are dropped, and a list of only unknown types gives no result.
    content_type = CommaListFilter(help_text="Comma-separated content types")
    page_source = CommaListFilter(field_name="page", help_text="Comma-separated page names")
    page = filters.CharFilter(method="filter_page", help_text="Exact page name (a number selects a result page)")
    search = filters.CharFilter(
        method="search_title_and_content", help_text="Case-insensitive regular expression on title and content"
    )
    ordering = filters.OrderingFilter(fields=("created_at", "modified_at", "title"))

    class Meta:
        model = Content
        fields = []

    def filter_page(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # `page` is also the pagination parameter: a number is a result page, anything else a page name.
        if is_result_page_number(value):
            return queryset
        return queryset.filter(page=value)

    def search_title_and_content(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        # Checked here because SQLite evaluates REGEXP with Python's `re` and fails with a database error.
        try:
            re.compile(value)
        except re.error as error:
            raise ValidationError({"search": [f"Invalid regular expression: {error}"]}) from None
        return queryset.filter(Q(title__iregex=value) | Q(content__iregex=value))
