from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from accesses.catalogue import RIGHTS
from accesses.filters import RoleFilter
from accesses.models import Perimeter, Right, Role
from accesses.permissions import CanManageAccesses
from accesses.selectors import role_holder_item, role_holders
from accesses.serializers import (
    RightCategorySerializer,
    RightSerializer,
    RoleHolderSerializer,
    RoleSerializer,
)
from accesses.services import roles as role_services
from accesses.services.user_rights import UserRights
from admin_cohort.pagination import NegativeLimitOffsetPagination
from admin_cohort.permissions import ReadAuthenticatedWriteFullAdmin
from admin_cohort.response_cache import CachedResponseMixin
from admin_cohort.views.mixins import AuditedViewMixin

_HOLDERS_ORDER = OpenApiParameter(
    "order",
    str,
    description="username, firstname, lastname, email, perimeter, start_datetime or end_datetime; `-` for descending",
)
_HOLDERS_NAME = OpenApiParameter("filter_by_name", str, description="In username, first name or last name")
_PERIMETER_ID = OpenApiParameter("perimeter_id", int, required=True)


class RoleViewSet(
    AuditedViewMixin,
    CachedResponseMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Role.objects.all().order_by("name", "id")
    serializer_class = RoleSerializer
    permission_classes = [ReadAuthenticatedWriteFullAdmin]
    filterset_class = RoleFilter
    pagination_class = NegativeLimitOffsetPagination
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    cached_actions = ("list", "retrieve", "assignable")

    def get_permissions(self):
        if self.action == "users":
            # Who holds a role is for those who manage accesses (the reference showed it to anybody).
            return [CanManageAccesses()]
        return super().get_permissions()

    def perform_create(self, serializer):
        serializer.instance = role_services.create_role(data=dict(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = role_services.update_role(role=serializer.instance, data=dict(serializer.validated_data))

    def perform_destroy(self, instance):
        role_services.delete_role(role=instance)

    @extend_schema(parameters=[_HOLDERS_ORDER, _HOLDERS_NAME], responses={200: RoleHolderSerializer(many=True)})
    @action(detail=True, methods=["get"], filterset_class=None)
    def users(self, request, *args, **kwargs):
        holders = role_holders(
            self.get_object(),
            name=request.query_params.get("filter_by_name", ""),
            order=request.query_params.get("order", "lastname"),
        )
        page = self.paginate_queryset(holders)
        if not page:
            return Response(status=status.HTTP_204_NO_CONTENT)
        return self.get_paginated_response([role_holder_item(row) for row in page])

    @extend_schema(parameters=[_PERIMETER_ID], responses={200: RoleSerializer(many=True)})
    @action(detail=False, methods=["get"], filterset_class=None, pagination_class=None)
    def assignable(self, request, *args, **kwargs):
        return self._serve(request, self._assignable)

    def _assignable(self, request):
        raw = request.query_params.get("perimeter_id")
        if not raw:
            raise ValidationError({"error": "Missing parameter: `perimeter_id`"})
        try:
            perimeter = Perimeter.objects.get(pk=int(raw))
        except (ValueError, Perimeter.DoesNotExist):
            raise NotFound({"error": f"No perimeter with id {raw!r}"}) from None
        roles = UserRights.of_request(request).assignable_roles(perimeter.id)
        return Response(RoleSerializer(roles, many=True).data)


class RightViewSet(CachedResponseMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Right.objects.select_related("depends_on").order_by("id")
    serializer_class = RightSerializer
    permission_classes = [IsAuthenticated]
    filter_backends: list = []
    pagination_class = None

    @extend_schema(responses={200: RightCategorySerializer(many=True)})
    def list(self, request, *args, **kwargs):
        return self._serve(request, self._categories)

    def _categories(self, request):
        """Rights grouped by category, in catalogue order; a category is global when its first right is."""
        order = {row.name: index for index, row in enumerate(RIGHTS)}
        categories: dict[str, dict] = {}
        for right in sorted(self.get_queryset(), key=lambda r: order.get(r.name, len(order))):
            category = categories.setdefault(
                right.category, {"name": right.category, "is_global": right.is_global, "rights": []}
            )
            category["rights"].append(right)
        return Response(RightCategorySerializer(categories.values(), many=True).data)
