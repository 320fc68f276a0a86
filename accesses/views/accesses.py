from __future__ import annotations

from django.conf import settings
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accesses.filters import AccessFilter, with_validity
from accesses.models import Access
from accesses.permissions import CanManageAccesses
from accesses.selectors import (
    accesses_visible_to,
    ancestors_by_perimeter,
    first_to_expire_per_perimeter,
    valid_accesses_of,
)
from accesses.serializers import (
    AccessCreateSerializer,
    AccessDatesSerializer,
    AccessSerializer,
    ExpiringAccessSerializer,
)
from accesses.services import accesses as access_services
from accesses.services.reading_rights import data_rights
from accesses.services.user_rights import UserRights
from admin_cohort.filters import boolean_literal
from admin_cohort.response_cache import CachedResponseMixin
from admin_cohort.views.mixins import AuditedViewMixin

EXPIRING = OpenApiParameter("expiring", str, description="`true`: accesses ending soon; any value: short shape")
_PERIMETERS_IDS = OpenApiParameter("perimeters_ids", str, description="Comma-separated perimeter ids")


@extend_schema_view(
    list=extend_schema(description="With `profile_id` or `perimeter_id`, each access says if the caller may edit it."),
    create=extend_schema(request=AccessCreateSerializer, responses={201: AccessSerializer}),
    partial_update=extend_schema(request=AccessDatesSerializer, responses={200: AccessSerializer}),
)
class AccessViewSet(
    AuditedViewMixin,
    CachedResponseMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Access.objects.none()  # the model, for the schema; get_queryset() restricts to the caller
    serializer_class = AccessSerializer
    permission_classes = [CanManageAccesses]
    filterset_class = AccessFilter
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    cached_actions = ("list", "retrieve", "my_accesses", "my_data_rights")

    def get_permissions(self):
        if self.action in ("my_accesses", "my_data_rights"):
            return [IsAuthenticated()]
        return super().get_permissions()

    @property
    def rights(self) -> UserRights:
        return UserRights.of_request(self.request)

    def get_queryset(self) -> QuerySet[Access]:
        return with_validity(accesses_visible_to(self.rights)).order_by("id")

    def get_object(self) -> Access:
        access = super().get_object()
        if self.request.method == "GET":
            access_services.check_can_manage(self.rights, access)
        return access

    def get_serializer_class(self):
        if self.request.method == "GET" and "expiring" in self.request.query_params:
            return ExpiringAccessSerializer
        return super().get_serializer_class()

    def _editable(self, accesses: list[Access]) -> dict[int, bool] | None:
        if not {"profile_id", "perimeter_id"} & self.request.query_params.keys():
            return None
        rights = self.rights
        ancestors = ancestors_by_perimeter(access.perimeter_id for access in accesses)
        return {
            access.id: rights.can_manage(access.role, access.perimeter_id, ancestors.get(access.perimeter_id, set()))
            for access in accesses
        }

    def list(self, request, *args, **kwargs):
        return self._serve(request, self._list)

    def _list(self, request):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        context = {**self.get_serializer_context(), "editable": self._editable(page)}
        return self.get_paginated_response(self.get_serializer_class()(page, many=True, context=context).data)

    def create(self, request, *args, **kwargs):
        serializer = AccessCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        access = access_services.create_access(rights=self.rights, **serializer.validated_data)
        return Response(AccessSerializer(access).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        access = self.get_object()
        body = request.data if isinstance(request.data, dict) else {}
        dates = AccessDatesSerializer(data={key: body[key] for key in access_services.DATE_FIELDS if key in body})
        dates.is_valid(raise_exception=True)
        access = access_services.update_access_dates(
            rights=self.rights, access=access, body=dict(body), dates=dates.validated_data
        )
        return Response(AccessSerializer(access).data)

    @extend_schema(request=None, responses={200: AccessSerializer})
    @action(detail=True, methods=["patch"])
    def close(self, request, *args, **kwargs):
        access = access_services.close_access(rights=self.rights, access=self.get_object())
        return Response(AccessSerializer(access).data)

    def destroy(self, request, *args, **kwargs):
        access_services.delete_access(rights=self.rights, access=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(parameters=[EXPIRING], responses={200: AccessSerializer(many=True)})
    @action(detail=False, methods=["get"], url_path="my-accesses", filterset_class=None, pagination_class=None)
    def my_accesses(self, request, *args, **kwargs):
        return self._serve(request, self._my_accesses)

    def _my_accesses(self, request):
        accesses = list(valid_accesses_of(request.user))
        if "expiring" not in request.query_params:
            return Response(AccessSerializer(accesses, many=True).data)
        if boolean_literal("expiring", request.query_params["expiring"]):
            accesses = first_to_expire_per_perimeter(accesses)
            if not accesses:
                days = settings.ACCESS_EXPIRY_FIRST_ALERT_IN_DAYS
                return Response({"message": f"No accesses to expire in the next {days} days"})
        return Response(ExpiringAccessSerializer(accesses, many=True).data)

    @extend_schema(parameters=[_PERIMETERS_IDS])
    @action(detail=False, methods=["get"], url_path="my-data-rights", filterset_class=None, pagination_class=None)
    def my_data_rights(self, request, *args, **kwargs):
        return self._serve(request, self._my_data_rights)

    def _my_data_rights(self, request):
        raw = request.query_params.get("perimeters_ids", "")
        try:
            ids = [int(item) for item in raw.split(",") if item.strip()]
        except ValueError:
            return Response(f"`perimeters_ids` must be integers, got `{raw}` instead", status=400)
        return Response(data_rights(self.rights, ids or None))
