"""Reading one row by a unique key."""

from __future__ import annotations

from django.db.models import Model, QuerySet


def one_or_none(queryset: QuerySet) -> Model | None:
    """The row of `queryset` (filtered on a unique key), or None.

    Not `.first()`: that orders by the primary key, and compiling the ORDER BY is a fifth of the CPU a lookup by
    key costs Django, for lookups that run on every request (authentication) and every job callback.
    """
    try:
        return queryset.get()
    except queryset.model.DoesNotExist:
        return None
