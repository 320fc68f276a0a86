"""The base of every cohort viewset: owner scoping, no PUT, comma-joined bulk deletes, audit, list cache."""

from __future__ import annotations

import uuid

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import status, viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.filters import SearchFilter
from rest_framework.permissions import SAFE_METHODS, BasePermission, IsAuthenticated
from rest_framework.response import Response

from admin_cohort.pagination import NegativeLimitOffsetPagination
from admin_cohort.response_cache import CachedResponseMixin
from admin_cohort.views.mixins import AuditedViewMixin
from cohort.filters import CohortOrderingFilter
from cohort.selectors import is_job_machine, visible_to
from cohort.services.errors import Refused
from cohort.services.soft_delete import soft_delete


class JobMachinesReadAndPatchOnly(BasePermission):
    """The QueryExecutor and Solr ETL users may read and call back jobs, never create or delete them."""

    message = "Job machine users may only read and update jobs."

    def has_permission(self, request, view) -> bool:
        return not is_job_machine(request.user) or request.method in (*SAFE_METHODS, "PATCH")


class OnlyJobMachinesPatch(BasePermission):
    """The outcome of a job comes from the job server only (spec 02 §6.4, §21.2): owners may not PATCH it."""

    message = "Only the job server may update this job."

    # On the object: another user's job stays a 404, as everywhere else.
    def has_object_permission(self, request, view, obj) -> bool:
        return request.method != "PATCH" or is_job_machine(request.user)


def parse_uuid_list(raw: str) -> list[uuid.UUID]:
    """`a,b,c` (empty items ignored); a malformed item is a 400, not a 500 (spec 02 §1.7)."""
    items = [item.strip() for item in raw.split(",") if item.strip()]
    try:
        return [uuid.UUID(item) for item in items]
    except ValueError:
        raise ValidationError({"uuid": [f"Invalid uuid in {raw!r}"]}) from None


class OwnedViewSet(AuditedViewMixin, CachedResponseMixin, viewsets.ModelViewSet):
    """Rows of `model` visible to the caller (cohort.selectors.visible_to), looked up by uuid.

    `nested_filters` maps URL kwargs of nested routes (e.g. `parent_folder`) to the field they filter on and
    force on creation.
    """

    model = None
    lookup_field = "uuid"
    lookup_value_regex = "[^/]+"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    permission_classes = [IsAuthenticated]
    pagination_class = NegativeLimitOffsetPagination
    filter_backends = [DjangoFilterBackend, SearchFilter, CohortOrderingFilter]
    cached_actions = ("list",)
    nested_filters: dict[str, str] = {}

    def base_queryset(self):
        return visible_to(self.model, self.request.user)

    def get_queryset(self):
        queryset = self.base_queryset()
        for kwarg, field in self.nested_filters.items():
            if kwarg in self.kwargs:
                try:
                    queryset = queryset.filter(**{field: uuid.UUID(str(self.kwargs[kwarg]))})
                except ValueError:
                    return queryset.none()
        return queryset

    def nested_values(self) -> dict:
        return {
            field.removesuffix("_id"): self.kwargs[kwarg]
            for kwarg, field in self.nested_filters.items()
            if kwarg in self.kwargs
        }

    def input_data(self):
        """The body, with the parents of a nested route forced from the URL over any `X` or `X_id` sent."""
        data = self.request.data
        nested = self.nested_values()
        if not nested or not isinstance(data, dict):
            return data
        data = data.copy()
        for field, value in nested.items():
            data.pop(f"{field}_id", None)
            data[field] = value
        return data

    def handle_exception(self, exc):
        if isinstance(exc, Refused):
            return Response(str(exc), status=status.HTTP_400_BAD_REQUEST)
        return super().handle_exception(exc)

    def get_object(self):
        raw = str(self.kwargs.get(self.lookup_field, ""))
        try:
            uuid.UUID(raw)
        except ValueError:
            from django.http import Http404

            raise Http404 from None
        return super().get_object()

    def destroy(self, request, *args, **kwargs):
        raw = str(kwargs.get(self.lookup_field, ""))
        if "," in raw:
            wanted = parse_uuid_list(raw)
            # Only the caller's own rows: other users' uuids are silently left alone (spec 02 §21.1).
            pks = list(self.get_queryset().filter(pk__in=wanted).values_list("pk", flat=True))
            soft_delete(self.model, pks)
            return Response(status=status.HTTP_204_NO_CONTENT)
        instance = self.get_object()
        soft_delete(self.model, [instance.pk])
        return Response(status=status.HTTP_204_NO_CONTENT)


def json_object_body(request) -> dict:
    if not isinstance(request.data, dict):
        raise ValidationError("The body must be a JSON object")
    return request.data
