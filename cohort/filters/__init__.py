"""Filtering pieces shared by the cohort lists."""

from __future__ import annotations

from rest_framework.filters import OrderingFilter


class CohortOrderingFilter(OrderingFilter):
    """`ordering=` over the view's `ordering_fields`, with two additions.

    `ordering_aliases` maps a public name to what it sorts by (e.g. `parent_folder` -> the folder's name, a
    name an annotation cannot take since the model field has it). The primary key is the last sort key, so
    that limit/offset pages never overlap nor skip rows that share a value.
    """

    def get_ordering(self, request, queryset, view):
        ordering = super().get_ordering(request, queryset, view)
        if not ordering:
            return ordering
        aliases = getattr(view, "ordering_aliases", {})
        return [*(_aliased(term, aliases) for term in ordering), "pk"]


def _aliased(term: str, aliases: dict[str, str]) -> str:
    descending = term.startswith("-")
    name = term.removeprefix("-")
    return f"{'-' if descending else ''}{aliases.get(name, name)}"
