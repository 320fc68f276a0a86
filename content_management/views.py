from __future__ import annotations

from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.utils import extend_schema, extend_schema_view, inline_serializer
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from content_management import selectors, services
from content_management.content_types import CONTENT_TYPES
from content_management.filters import ContentFilter
from content_management.pagination import ContentPagination
from content_management.permissions import ReadAnyoneWriteFullAdmin
from content_management.serializers import ContentSerializer, ContentTypeSerializer


@extend_schema_view(
    list=extend_schema(description="Contents not deleted, newest first unless `ordering` is given."),
    create=extend_schema(description="Full admins only. `metadata` values are stored as strings."),
    partial_update=extend_schema(
        description="Full admins only. A given `metadata` object (even `{}`) replaces all metadata; "
        "read-only fields sent back by the client are ignored."
    ),
    destroy=extend_schema(description="Full admins only. Soft delete: sets `deleted_at`."),
)
class ContentViewSet(viewsets.ModelViewSet):
    serializer_class = ContentSerializer
    permission_classes = [ReadAnyoneWriteFullAdmin]
    filter_backends = [DjangoFilterBackend]
    filterset_class = ContentFilter
    pagination_class = ContentPagination
    http_method_names = ["get", "post", "patch", "delete"]

    def get_queryset(self):
        return selectors.live_contents()

    def perform_create(self, serializer):
        data = dict(serializer.validated_data)
        metadata = data.pop("metadata", None)
        serializer.instance = services.create_content(data=data, metadata=metadata)

    def perform_update(self, serializer):
        data = dict(serializer.validated_data)
        metadata = data.pop("metadata", None)
        serializer.instance = services.update_content(content=serializer.instance, data=data, metadata=metadata)

    def perform_destroy(self, instance):
        services.delete_content(content=instance)

    @extend_schema(
        responses=inline_serializer("ContentTypes", {key: ContentTypeSerializer() for key in CONTENT_TYPES}),
        description="The content types, by key.",
    )
    @action(detail=False, methods=["get"], url_path="content_types", filter_backends=[], pagination_class=None)
    def content_types(self, request):
        return Response(CONTENT_TYPES)
