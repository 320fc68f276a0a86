from __future__ import annotations

from django.core.cache import cache
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from admin_cohort.permissions import IsFullAdmin
from admin_cohort.response_cache import cache_keys, delete_keys

USERNAME = OpenApiParameter(
    "username", str, description="Only the answers served to this user, or asked by them while impersonating"
)
KEYS_ONLY = OpenApiParameter("keys_only", str, description="Any non-empty value: list the keys only")
CACHE_CONTENT = OpenApiResponse(
    {
        "oneOf": [
            {"type": "array", "items": {"type": "string"}, "description": "keys (with `keys_only`)"},
            {"type": "object", "additionalProperties": {}, "description": "key → cached answer"},
        ]
    },
    description="The cached answers (empty when caching is off)",
)


class CacheAdminView(APIView):
    permission_classes = [IsFullAdmin]

    @extend_schema(parameters=[USERNAME, KEYS_ONLY], responses={200: CACHE_CONTENT})
    def get(self, request, *args, **kwargs):
        keys = cache_keys(request.query_params.get("username"))
        if request.query_params.get("keys_only"):
            return Response(keys)
        values = cache.get_many(keys)
        return Response({key: values[key] for key in keys if key in values})

    @extend_schema(parameters=[USERNAME], responses={204: None})
    def delete(self, request, *args, **kwargs):
        delete_keys(request.query_params.get("username"))
        return Response(status=204)
