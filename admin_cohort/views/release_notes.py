from __future__ import annotations

from rest_framework import mixins, viewsets

from admin_cohort.models import ReleaseNote
from admin_cohort.permissions import ReadAuthenticatedWriteFullAdmin
from admin_cohort.serializers import ReleaseNoteSerializer


class ReleaseNoteViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = ReleaseNote.objects.order_by("-insert_datetime", "-id")
    serializer_class = ReleaseNoteSerializer
    permission_classes = [ReadAuthenticatedWriteFullAdmin]
    search_fields = ["title", "message"]
    http_method_names = ["get", "post", "patch", "head", "options"]
