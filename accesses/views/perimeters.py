from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from accesses import catalogue
from accesses.filters import PerimeterFilter
from accesses.models import Perimeter
from accesses.serializers import PerimeterLiteSerializer, PerimeterSerializer, ReadCheckSerializer, ReadRightsSerializer
from accesses.services import reading_rights
from accesses.services.user_rights import UserRights
from admin_cohort.pagination import NegativeLimitOffsetPagination
from admin_cohort.response_cache import CachedResponseMixin

_COHORT_IDS = OpenApiParameter("cohort_ids", str, required=True, description="Comma-separated cohort ids")
_MODE = OpenApiParameter("mode", str, required=True, enum=list(reading_rights.MODES))


class PerimeterViewSet(CachedResponseMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    queryset = Perimeter.objects.all().order_by("id")
    serializer_class = PerimeterSerializer
    filterset_class = PerimeterFilter
    pagination_class = NegativeLimitOffsetPagination
    lookup_value_regex = r"\d+"
    cached_actions = ("list", "retrieve", "children", "child", "manageable", "read_rights", "read_check")

    @property
    def rights(self) -> UserRights:
        return UserRights.of_request(self.request)

    @extend_schema(operation_id="accesses_perimeters_children_list", responses={200: PerimeterSerializer(many=True)})
    @action(detail=True, methods=["get"])
    def children(self, request, *args, **kwargs):
        """Perimeters whose parent is this one."""
        return self._serve(request, self._children)

    def _children(self, request, child_id: str | None = None):
        children = self.filter_queryset(self.get_queryset().filter(parent_id=self.kwargs["pk"]))
        if child_id is not None:
            child = children.filter(pk=child_id).first()
            if child is None:
                raise NotFound()
            return Response(PerimeterSerializer(child).data)
        page = self.paginate_queryset(children)
        return self.get_paginated_response(PerimeterSerializer(page, many=True).data)

    @extend_schema(operation_id="accesses_perimeters_child_retrieve", responses={200: PerimeterSerializer})
    @action(detail=True, methods=["get"], url_path=r"children/(?P<child_id>\d+)", pagination_class=None)
    def child(self, request, *args, child_id: str, **kwargs):
        return self._serve(request, self._children, child_id)

    @extend_schema(responses={200: PerimeterLiteSerializer(many=True)})
    @action(detail=False, methods=["get"], pagination_class=None)
    def manageable(self, request, *args, **kwargs):
        """The highest perimeters the caller manages accesses on; with any query parameter, their whole
        sub-trees, filtered."""
        return self._serve(request, self._manageable)

    def _manageable(self, request):
        expand = bool(request.query_params)
        perimeters = self.rights.manageable_perimeters(with_descendants=expand).order_by("full_path", "id")
        if expand:
            perimeters = self.filter_queryset(perimeters)
        return Response(PerimeterLiteSerializer(perimeters, many=True).data)

    @extend_schema(responses={200: ReadRightsSerializer(many=True)})
    @action(detail=False, methods=["get"], url_path="patient-data/rights", url_name="read-rights")
    def read_rights(self, request, *args, **kwargs):
        """Without query parameters, the caller's top readable perimeters; with any, every readable perimeter
        matching the filters. `{}` when there is none."""
        return self._serve(request, self._read_rights)

    def _read_rights(self, request):
        perimeters = reading_rights.readable_perimeters(
            self.rights, self.filter_queryset(Perimeter.objects.all()), expand=bool(request.query_params)
        )
        page = self.paginate_queryset(perimeters)
        if not page:
            return Response({})  # Cohort360 detects "no rights" by an empty object
        ipp = self.rights.holds(catalogue.SEARCH_BY_IPP)
        opposed = self.rights.holds(catalogue.SEARCH_OPPOSED)
        lite = PerimeterLiteSerializer(page, many=True).data
        items = [
            {"perimeter": data, **reading_rights.read_rights_item(perimeter, ipp=ipp, opposed=opposed)}
            for perimeter, data in zip(page, lite, strict=True)
        ]
        return self.get_paginated_response(items)

    @extend_schema(parameters=[_COHORT_IDS, _MODE], responses={200: ReadCheckSerializer})
    @action(detail=False, methods=["get"], url_path="patient-data/read", url_name="read-check", filterset_class=None)
    def read_check(self, request, *args, **kwargs):
        return self._serve(request, self._read_check)

    def _read_check(self, request):
        raw = request.query_params.get("cohort_ids")
        if not raw:
            raise ValidationError({"error": "Missing `cohort_ids` parameter"})
        mode = request.query_params.get("mode")
        if mode not in reading_rights.MODES:
            raise ValidationError({"error": "Patient data reading `mode` is missing or has invalid value"})
        cohort_ids = [item.strip() for item in raw.split(",") if item.strip()]
        try:
            return Response(reading_rights.check_read_mode(self.rights, cohort_ids, mode))
        except reading_rights.ReadCheckError as error:
            return Response({"error": str(error)}, status=error.status)
