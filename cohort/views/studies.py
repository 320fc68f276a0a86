"""Feasibility studies (spec 02 §4.9) and refresh schedules (spec 02 §4.10)."""

from __future__ import annotations

from urllib.parse import quote

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from cohort.filters.studies import FeasibilityStudyFilter, RequestRefreshScheduleFilter
from cohort.models import FeasibilityStudy, RequestRefreshSchedule
from cohort.selectors import owned_by
from cohort.serializers.callbacks import StudyCallbackSerializer
from cohort.serializers.studies import (
    FeasibilityStudyCreateSerializer,
    FeasibilityStudySerializer,
    RequestRefreshScheduleSerializer,
)
from cohort.services import feasibility, feasibility_report, refresh_schedules
from cohort.services.auth_forwarding import forwarded_auth
from cohort.views.base import JobMachinesReadAndPatchOnly, OnlyJobMachinesPatch, OwnedViewSet, json_object_body


def attachment(file_name: str) -> str:
    """`attachment; filename="…"` as the web app parses it; characters a Latin-1 header cannot carry are
    replaced there, and the exact name is added as `filename*` (RFC 6266) for the browsers that read it."""
    fallback = "".join(char if ord(char) < 256 else "_" for char in file_name)
    header = f'attachment; filename="{fallback}"'
    if fallback != file_name:
        header += f"; filename*=UTF-8''{quote(file_name)}"
    return header


class FeasibilityStudyViewSet(OwnedViewSet):
    model = FeasibilityStudy
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_classes = [IsAuthenticated, JobMachinesReadAndPatchOnly, OnlyJobMachinesPatch]
    serializer_class = FeasibilityStudySerializer
    filterset_class = FeasibilityStudyFilter
    ordering_fields = ["created_at", "modified_at"]
    ordering = ["-created_at"]
    cached_actions = ()

    def base_queryset(self):
        if self.action == "download":  # the report is its owner's, not the job machines'
            return owned_by(FeasibilityStudy, self.request.user)
        # The reports are read by `download` only: lists need not load them.
        return super().base_queryset().defer("report_file", "report_json_content")

    @extend_schema(request=FeasibilityStudyCreateSerializer, responses={201: FeasibilityStudySerializer})
    def create(self, request, *args, **kwargs):
        serializer = FeasibilityStudyCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        study = feasibility.launch_study(
            owner=request.user,
            snapshot=serializer.validated_data["request_query_snapshot"],
            auth=forwarded_auth(request),
        )
        return Response(FeasibilityStudySerializer(study).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=StudyCallbackSerializer, description="The QueryExecutor's callback (job machines only).")
    def partial_update(self, request, *args, **kwargs):
        study = self.get_object()
        updated = feasibility.study_callback(study.pk, json_object_body(request))
        return Response(FeasibilityStudySerializer(updated).data)

    @action(detail=True, methods=["get"])
    def download(self, request, *args, **kwargs):
        study = self.get_object()
        if not study.report_file:
            return Response("Report not found", status=status.HTTP_404_NOT_FOUND)
        response = HttpResponse(bytes(study.report_file), content_type="application/zip")
        response["Content-Disposition"] = attachment(f"{feasibility_report.report_file_name(study)}.zip")
        return response


class RequestRefreshScheduleViewSet(OwnedViewSet):
    model = RequestRefreshSchedule
    serializer_class = RequestRefreshScheduleSerializer
    filterset_class = RequestRefreshScheduleFilter
    ordering_fields = ["created_at", "modified_at"]
    ordering = ["-created_at"]
    cached_actions = ()

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = {key: value for key, value in serializer.validated_data.items() if key != "owner"}
        schedule = refresh_schedules.create_schedule(owner=request.user, auth=forwarded_auth(request), **data)
        return Response(self.get_serializer(schedule).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request, *args, **kwargs):
        schedule = self.get_object()
        serializer = self.get_serializer(schedule, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        changes = {
            key: value for key, value in serializer.validated_data.items() if key not in ("owner", "request_snapshot")
        }
        return Response(self.get_serializer(refresh_schedules.update_schedule(schedule, changes=changes)).data)
