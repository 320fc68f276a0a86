"""Exports: list, detail, creation, and the owner's and administrators' actions (spec 02 §15.2-§15.3, §16, §17.4)."""

from __future__ import annotations

import json

from django.http import HttpResponse
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.filters import SearchFilter
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from admin_cohort.filters import boolean_literal
from admin_cohort.pagination import NegativeLimitOffsetPagination
from admin_cohort.permissions import IsFullAdmin
from admin_cohort.streaming import streaming_response
from admin_cohort.views.mixins import AuditedViewMixin
from cohort.filters import CohortOrderingFilter
from cohort.models import JobStatus
from cohort.services.auth_forwarding import forwarded_auth
from exports.engine import ExportStepError, RemoteTimeout, StorageError, StorageUnavailable, export_engine
from exports.filters import ExportFilter
from exports.models import Export
from exports.permissions import IsOwnerOrFullAdmin
from exports.selectors import exports_to_show, visible_exports
from exports.serializers import ExportListSerializer, ExportRequestSerializer, ExportSerializer
from exports.services import creation
from exports.services.downloads import DownloadRefused, archive_name, open_archive
from exports.services.validation import ExportForbidden, InvalidExportRequest, parse_export_request

UUID_PATTERN = "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}"
MESSAGE = OpenApiResponse(OpenApiTypes.STR, description="A message")


@extend_schema_view(
    list=extend_schema(
        description="Export administrators see every export, other users their own. An empty page answers 204.",
        parameters=[OpenApiParameter("return_full_objects", OpenApiTypes.BOOL, description="The full representation")],
        responses={200: ExportListSerializer(many=True), 204: None},
    ),
    create=extend_schema(request=ExportRequestSerializer, responses={201: ExportSerializer}),
)
class ExportViewSet(AuditedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Export.objects.none()  # the model, for the schema; get_queryset() restricts to the caller
    serializer_class = ExportSerializer
    lookup_field = "uuid"
    # Strict, so that `/exports/cohorts/` and the other collections never read as an export's uuid.
    lookup_value_regex = UUID_PATTERN
    http_method_names = ["get", "post", "head", "options"]
    permission_classes = [IsAuthenticated]
    pagination_class = NegativeLimitOffsetPagination
    filter_backends = [DjangoFilterBackend, SearchFilter, CohortOrderingFilter]
    filterset_class = ExportFilter
    search_fields = [
        "owner__username",
        "owner__firstname",
        "owner__lastname",
        "motivation",
        "request_job_status",
        "output_format",
        "target_name",
        "datalab__name",
        "cohort_name",
        "cohort_id",
    ]
    ordering_fields = ["created_at", "modified_at", "output_format", "status", "patients_count", "owner"]
    ordering_aliases = {"status": "request_job_status", "owner": "owner__firstname"}
    ordering = ["-created_at"]

    def get_queryset(self):
        # Administrators see every export, but download their own files only.
        return exports_to_show(visible_exports(self.request.user, own_only=self.action == "download"))

    def get_permissions(self):
        if self.action in ("relaunch", "logs"):
            return [IsFullAdmin()]
        if self.action == "retry":
            return [IsAuthenticated(), IsOwnerOrFullAdmin()]
        return super().get_permissions()

    def handle_exception(self, exc):
        if isinstance(exc, InvalidExportRequest):
            return Response([f"Invalid export data: {exc}"], status=status.HTTP_400_BAD_REQUEST)
        if isinstance(exc, ExportForbidden):
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        return super().handle_exception(exc)

    def list(self, request, *args, **kwargs):
        raw = request.query_params.get("return_full_objects")
        full = raw is not None and boolean_literal("return_full_objects", raw)
        exports = self.filter_queryset(self.get_queryset())
        if not full:
            exports = exports.prefetch_related(None)  # the list representation shows no tables
        page = self.paginate_queryset(exports)
        if not page:
            # Kept from the reference: both clients expect an empty list to answer 204 (client contract §1.4).
            return Response(status=status.HTTP_204_NO_CONTENT)
        serializer = ExportSerializer if full else ExportListSerializer
        return self.get_paginated_response(serializer(page, many=True).data)

    def create(self, request, *args, **kwargs):
        export_request = parse_export_request(request.user, request.data)
        export = creation.create_export(owner=request.user, request=export_request, auth=forwarded_auth(request))
        return Response(self._full(export), status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/zip"): OpenApiTypes.BINARY, 400: MESSAGE, 502: MESSAGE, 503: MESSAGE})
    @action(detail=True, methods=["get"])
    def download(self, request, *args, **kwargs):
        export = self.get_object()
        try:
            archive = open_archive(export)
        except DownloadRefused as refusal:
            return Response(str(refusal), status=status.HTTP_400_BAD_REQUEST)
        except StorageError as error:
            unavailable = isinstance(error, StorageUnavailable)
            return Response(
                f"Storage provider error: {error}",
                status=status.HTTP_503_SERVICE_UNAVAILABLE if unavailable else status.HTTP_502_BAD_GATEWAY,
            )
        response = streaming_response(
            request, archive.chunks, raw_body=archive.raw_body, content_type="application/zip"
        )
        response["Content-Length"] = str(archive.size)
        response["Content-Disposition"] = f"attachment; filename={archive_name(export)}"
        return response

    @extend_schema(request=None, responses={200: MESSAGE, 400: MESSAGE})
    @action(detail=True, methods=["post"])
    def retry(self, request, *args, **kwargs):
        export = self.get_object()
        try:
            creation.retry(export, auth=forwarded_auth(request))
        except creation.RetryRefused as refusal:  # a failed export only: a running one would run twice (§15.3)
            return Response(str(refusal), status=status.HTTP_400_BAD_REQUEST)
        return Response(f"The export `{export.pk}` has been relaunched")

    @extend_schema(request=None, responses={201: ExportSerializer})
    @action(detail=True, methods=["post"])
    def relaunch(self, request, *args, **kwargs):
        copy = creation.relaunch(self.get_object(), auth=forwarded_auth(request))
        return Response(self._full(copy), status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, "application/json"): OpenApiTypes.OBJECT, 400: MESSAGE, 408: MESSAGE, 502: MESSAGE})
    @action(detail=True, methods=["get"])
    def logs(self, request, *args, **kwargs):
        export = self.get_object()
        if export.request_job_status == JobStatus.FINISHED:
            return Response("No logs available. The target export has finished successfully")
        if not export.request_job_id:
            return Response("The target export has no job ID", status=status.HTTP_400_BAD_REQUEST)
        try:
            logs = export_engine().task_logs(export.request_job_id)
        except RemoteTimeout:
            return Response(
                "Timeout while fetching logs. Please try again later.", status=status.HTTP_408_REQUEST_TIMEOUT
            )
        except ExportStepError as error:
            return Response(f"Error fetching logs: {error}", status=status.HTTP_502_BAD_GATEWAY)
        return HttpResponse(
            json.dumps(logs, indent=4),
            content_type="application/json",
            headers={"Content-Disposition": f"attachment; filename=logs_export_{export.target_name or export.pk}.json"},
        )

    @staticmethod
    def _full(export: Export) -> dict:
        return ExportSerializer(exports_to_show(Export.all_objects.filter(pk=export.pk)).get()).data
