from __future__ import annotations

from rest_framework import viewsets

from admin_cohort.filters import RequestLogFilter
from admin_cohort.models import RequestLog
from admin_cohort.permissions import IsFullAdmin
from admin_cohort.serializers import RequestLogSerializer


class RequestLogViewSet(viewsets.ReadOnlyModelViewSet):
    queryset = RequestLog.objects.select_related("user", "user__created_by", "user__updated_by").order_by("-id")
    serializer_class = RequestLogSerializer
    permission_classes = [IsFullAdmin]
    filterset_class = RequestLogFilter
    search_fields = ["path", "view", "username_persistent"]
