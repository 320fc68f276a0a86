from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.conf import settings
from rest_framework import pagination


class PageNumberPagination(pagination.PageNumberPagination):
    """Fixed pages of 20 (`page_size` sent by the Portail is ignored)."""

    page_size = 20


class NegativeLimitOffsetPagination(pagination.LimitOffsetPagination):
    """`limit` < 0 means everything; 0 or garbage means the default. No page holds more than
    PAGINATION_MAX_LIMIT rows: the reference's uncapped `limit=100000000` makes one request load a whole table."""

    default_limit = 20

    def get_limit(self, request) -> int:
        raw = request.query_params.get(self.limit_query_param)
        try:
            limit = int(raw)
        except (TypeError, ValueError):
            return self.default_limit
        if limit < 0:
            return settings.PAGINATION_MAX_LIMIT
        return min(limit, settings.PAGINATION_MAX_LIMIT) or self.default_limit

    def get_offset(self, request) -> int:
        try:
            return max(int(request.query_params.get(self.offset_query_param, 0)), 0)
        except (TypeError, ValueError):
            return 0

    def get_next_link(self):
        link = super().get_next_link()
        return _sorted_query(link)

    def get_previous_link(self):
        link = super().get_previous_link()
        return _sorted_query(link)


def _sorted_query(url: str | None) -> str | None:
    """Query parameters re-encoded in sorted key order (Cohort360 parses `limit`/`offset` from them)."""
    if url is None:
        return None
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))
