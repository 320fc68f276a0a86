"""Reading a whole table page by page, for the bulk upgrades (service and data migration)."""

from __future__ import annotations

from collections.abc import Iterator

from django.db import models

PAGE_SIZE = 500


def in_pages(queryset: models.QuerySet, size: int = PAGE_SIZE) -> Iterator[models.Model]:
    """Rows by ascending primary key, one page at a time.

    Each page is fully read before its rows are yielded, so the caller may write to the same table between
    rows: SQLite gives no isolation between an open cursor and writes on its connection.
    """
    queryset = queryset.order_by("pk")
    last_pk = None
    while True:
        page = list((queryset if last_pk is None else queryset.filter(pk__gt=last_pk))[:size])
        yield from page
        if len(page) < size:
            return
        last_pk = page[-1].pk
