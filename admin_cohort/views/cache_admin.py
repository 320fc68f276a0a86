from __future__ import annotations

from django.core.cache import cache
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from admin_cohort.permissions import IsFullAdmin
from admin_cohort.response_cache import cache_keys, delete_keys

USERNAME = OpenApiParameter("username", str, description="Only the keys of this user's cached answers")
KEYS_ONLY = OpenApiParameter("keys_only", str, description="Any non-empty value: list the keys only")


def _pattern(request) -> str:
    username = request.query_params.get("username")
    return f"*{username}*" if username else "*"


class CacheAdminView(APIView):
    permission_classes = [IsFullAdmin]

    @extend_schema(parameters=[USERNAME, KEYS_ONLY], responses={200: dict})
    def get(self, request, *args, **kwargs):
        keys = cache_keys(_pattern(request))
        if request.query_params.get("keys_only"):
            return Response(keys)
        return Response({key: cache.get(key) for key in keys})

    @extend_schema(parameters=[USERNAME], responses={204: None})
    def delete(self, request, *args, **kwargs):
        delete_keys(_pattern(request))
        return Response(status=204)
