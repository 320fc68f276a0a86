from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from admin_cohort.auth.hooks import HookError
from admin_cohort.filters import UserFilter
from admin_cohort.models import User
from admin_cohort.permissions import UsersPermission
from admin_cohort.response_cache import CachedResponseMixin
from admin_cohort.selectors import users_visible_to
from admin_cohort.serializers import UserCheckSerializer, UserCreateSerializer, UserSerializer, UserUpdateSerializer
from admin_cohort.services import users as user_services
from admin_cohort.views.mixins import AuditedViewMixin

MESSAGE = {"type": "object", "properties": {"message": {"type": "string"}}}


@extend_schema_view(
    list=extend_schema(description="Managers see every user; other users see those holding a valid access."),
    create=extend_schema(request=UserCreateSerializer, responses={201: UserSerializer}),
    partial_update=extend_schema(request=UserUpdateSerializer, responses={200: UserSerializer}),
)
class UserViewSet(
    AuditedViewMixin,
    CachedResponseMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = User.objects.none()  # the model, for the schema; get_queryset() restricts to the caller
    lookup_field = "username"
    lookup_value_regex = "[^/]+"
    permission_classes = [UsersPermission]
    filterset_class = UserFilter
    search_fields = ["username", "firstname", "lastname", "email"]
    http_method_names = ["get", "post", "patch", "head", "options"]
    audited_methods = ("POST", "PATCH")
    cache_depends_on_everyones_rights = True  # who is listed depends on who holds a valid access

    def get_queryset(self) -> QuerySet[User]:
        return users_visible_to(self.request.user).order_by("username")

    def get_serializer_class(self):
        if self.action == "create":
            return UserCreateSerializer
        if self.action == "partial_update":
            return UserUpdateSerializer
        return UserSerializer

    def perform_create(self, serializer):
        serializer.instance = user_services.create_user(
            data=dict(serializer.validated_data), created_by=self.request.user
        )

    def perform_update(self, serializer):
        serializer.instance = user_services.update_user(
            user=serializer.instance, data=dict(serializer.validated_data), updated_by=self.request.user
        )

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        self.perform_create(serializer)
        return Response(UserSerializer(serializer.instance).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        serializer = self.get_serializer(self.get_object(), data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        self.perform_update(serializer)
        return Response(UserSerializer(serializer.instance).data)

    @extend_schema(
        responses={
            200: UserCheckSerializer,
            400: OpenApiResponse(MESSAGE),
            404: OpenApiResponse(MESSAGE),
            502: OpenApiResponse(MESSAGE),
        },
        description="Whether a username exists here or in the identity directory (pre-fills the user form).",
    )
    @action(detail=True, methods=["get"], url_path="check", filter_backends=[], pagination_class=None)
    def check(self, request, username: str):
        try:
            identity, already_exists = user_services.check_user(username)
        except user_services.InvalidUsernameError:
            return Response({"message": "Invalid username format"}, status=400)
        except HookError as error:
            return Response({"message": str(error)}, status=502)
        if identity is None:
            return Response({"message": "User not found"}, status=404)
        return Response({**identity, "already_exists": already_exists, "found": not already_exists})
