from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from admin_cohort.filters import MaintenancePhaseFilter
from admin_cohort.models import MaintenancePhase
from admin_cohort.permissions import MaintenancePermission
from admin_cohort.selectors import current_or_next_maintenance
from admin_cohort.serializers import MaintenancePhaseSerializer
from admin_cohort.services import maintenance as maintenance_services


class MaintenancePhaseViewSet(viewsets.ModelViewSet):
    queryset = MaintenancePhase.objects.order_by("id")
    serializer_class = MaintenancePhaseSerializer
    permission_classes = [MaintenancePermission]
    filterset_class = MaintenancePhaseFilter
    http_method_names = ["get", "head", "options", "post", "patch", "delete"]

    def perform_create(self, serializer):
        serializer.instance = maintenance_services.create_phase(data=dict(serializer.validated_data))

    def perform_update(self, serializer):
        serializer.instance = maintenance_services.update_phase(
            phase=serializer.instance, data=dict(serializer.validated_data)
        )

    def perform_destroy(self, instance):
        maintenance_services.delete_phase(phase=instance)

    @extend_schema(
        responses={200: OpenApiResponse(MaintenancePhaseSerializer, description="`{}` when none is planned")},
        description="The running phase (the one ending last), else the next one, else `{}`.",
    )
    @action(detail=False, methods=["get"], url_path="next", filter_backends=[], pagination_class=None)
    def next(self, request):
        phase = current_or_next_maintenance()
        return Response(MaintenancePhaseSerializer(phase).data if phase else {}, status=status.HTTP_200_OK)
