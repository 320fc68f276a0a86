from __future__ import annotations

from admin_cohort.pagination import PageNumberPagination


def is_result_page_number(value) -> bool:
    text = str(value)
    return text.isascii() and text.isdigit()


class ContentPagination(PageNumberPagination):
    """Shares `page` with the page-name filter: a value that is not a number selects the first result page."""

    def get_page_number(self, request, paginator):
        number = super().get_page_number(request, paginator)
        return number if is_result_page_number(number) else 1

    def get_schema_operation_parameters(self, view) -> list[dict]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_query_param:
                parameter["description"] = "A result page number, or else a page name to filter on (exact)."
                parameter["schema"] = {"type": "string"}
        return parameters
