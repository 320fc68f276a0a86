"""Counts and cohorts: launched by their owner, called back by the job machine users (spec 02 §4.6, §4.7)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from cohort.filters.jobs import CohortResultFilter
from cohort.models import ACTIVE_STATUSES, CohortResult, DatedMeasure, JobStatus
from cohort.selectors import cohorts_with_sizes, is_job_machine, visible_to
from cohort.serializers.callbacks import MeasureCallbackSerializer
from cohort.serializers.jobs import (
    CohortCreateSerializer,
    CohortResultSerializer,
    CohortUpdateSerializer,
    DatedMeasureCreateSerializer,
)
from cohort.serializers.jobs_nested import DatedMeasureSerializer
from cohort.services import callbacks, cohorts, counts
from cohort.services.auth_forwarding import forwarded_auth
from cohort.services.perimeter_rights import cohort_rights, has_valid_access
from cohort.views.base import JobMachinesReadAndPatchOnly, OnlyJobMachinesPatch, OwnedViewSet, json_object_body

# What only the job machines may change: the job's outcome (spec 02 §21.2).
JOB_FIELDS = frozenset(
    {
        "request_job_status",
        "request_job_id",
        "request_job_fail_msg",
        "request_job_duration",
        "group_id",
        "group.id",
        "group.count",
        "message",
        "measure",
        "measure_min",
        "measure_max",
        "count",
        "minimum",
        "maximum",
        "create_task_id",
        "is_subset",
    }
)
NON_UPDATABLE_FIELDS = frozenset(
    {
        "owner",
        "owner_id",
        "request_query_snapshot",
        "request_query_snapshot_id",
        "dated_measure",
        "dated_measure_id",
    }
)


class DatedMeasureViewSet(OwnedViewSet):
    model = DatedMeasure
    http_method_names = ["get", "post", "patch", "head", "options"]
    permission_classes = [IsAuthenticated, JobMachinesReadAndPatchOnly, OnlyJobMachinesPatch]
    serializer_class = DatedMeasureSerializer
    filter_backends: list = []
    cached_actions = ()

    def get_queryset(self):
        return super().get_queryset().order_by("-created_at")

    @extend_schema(request=DatedMeasureCreateSerializer, responses={201: DatedMeasureSerializer})
    def create(self, request, *args, **kwargs):
        serializer = DatedMeasureCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        measure = counts.launch_count(
            owner=request.user,
            snapshot=serializer.validated_data["request_query_snapshot"],
            auth=forwarded_auth(request),
            stage_details=serializer.validated_data.get("stageDetails"),
        )
        return Response(DatedMeasureSerializer(measure).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MeasureCallbackSerializer, description="The QueryExecutor's callback (job machines only).")
    def partial_update(self, request, *args, **kwargs):
        measure = self.get_object()
        return Response(DatedMeasureSerializer(callbacks.measure_callback(measure, json_object_body(request))).data)


class CohortResultViewSet(OwnedViewSet):
    model = CohortResult
    permission_classes = [IsAuthenticated, JobMachinesReadAndPatchOnly]
    serializer_class = CohortResultSerializer
    filterset_class = CohortResultFilter
    search_fields = ["name", "description"]
    ordering_fields = ["created_at", "modified_at", "name", "result_size", "favorite", "request"]
    cache_models = ("cohort.DatedMeasure", "cohort.RequestQuerySnapshot", "cohort.Request")

    def get_queryset(self):
        return cohorts_with_sizes(super().get_queryset()).order_by("-created_at")

    def _representation(self, pk) -> dict:
        return CohortResultSerializer(cohorts_with_sizes(CohortResult.all_objects.filter(pk=pk)).get()).data

    @extend_schema(request=CohortCreateSerializer, responses={201: CohortResultSerializer})
    def create(self, request, *args, **kwargs):
        serializer = CohortCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        common = {"owner": request.user, "name": data.get("name"), "description": data.get("description")}
        if data.get("parent_cohort") is not None:
            cohort = cohorts.create_sample(
                **common,
                parent=data["parent_cohort"],
                sampling_ratio=data["sampling_ratio"],
                auth=forwarded_auth(request),
            )
        else:
            cohort = cohorts.create_cohort(
                **common,
                favorite=data.get("favorite", False),
                snapshot=data["request_query_snapshot"],
                measure=data["dated_measure"],
                global_estimate=data["global_estimate"],
                auth=forwarded_auth(request),
            )
        return Response(self._representation(cohort.pk), status=status.HTTP_201_CREATED)

    @extend_schema(
        request=CohortUpdateSerializer,
        description="The owner renames, describes or marks the cohort. The job machines call back instead with "
        "`request_job_status`, `group.id`, `group.count` and `message` (the QueryExecutor), or "
        "`request_job_status` (the Solr ETL, once a large cohort is indexed).",
    )
    def partial_update(self, request, *args, **kwargs):
        payload = json_object_body(request)
        forbidden = NON_UPDATABLE_FIELDS & payload.keys()
        if forbidden or (not is_job_machine(request.user) and JOB_FIELDS & payload.keys()):
            return Response(
                f"The payload contains non-updatable fields `{payload}`", status=status.HTTP_400_BAD_REQUEST
            )
        cohort = self.get_object()
        if is_job_machine(request.user):
            ended = callbacks.cohort_callback(cohort.pk, payload, caller=request.user.username)
            return Response(self._representation(ended.pk))
        serializer = CohortUpdateSerializer(cohort, data=payload, partial=True)
        serializer.is_valid(raise_exception=True)
        serializer.save()
        return Response(self._representation(cohort.pk))

    @action(detail=False, methods=["get"], url_path="jobs/active")
    def active_jobs(self, request):
        active = ACTIVE_STATUSES - {JobStatus.LONG_PENDING}
        return Response({"jobs_count": CohortResult.objects.filter(request_job_status__in=active).count()})

    @action(detail=False, methods=["get"], url_path="cohort-rights")
    def cohort_rights(self, request):
        raw = request.query_params.get("group_id", "")
        group_ids = [item.strip() for item in raw.split(",") if item.strip()]
        if not group_ids:
            raise ValidationError({"group_id": ["A comma-separated list of cohort group ids is required."]})
        found = (
            visible_to(CohortResult, request.user)
            .filter(group_id__in=group_ids)
            .values_list("group_id", "request_query_snapshot__perimeters_ids")
        )
        perimeters = {group_id: list(ids or []) for group_id, ids in found}
        if not perimeters:
            return Response(
                {"detail": "No cohorts found. The provided `group_id`s are not valid"}, status=status.HTTP_404_NOT_FOUND
            )
        if not has_valid_access(request.user):
            return Response(
                {"detail": f"The user `{request.user}` has no valid accesses"}, status=status.HTTP_404_NOT_FOUND
            )
        rights = cohort_rights(request.user, perimeters)
        return Response([{"cohort_id": group_id, "rights": rights[group_id]} for group_id in perimeters])
