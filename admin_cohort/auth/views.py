from __future__ import annotations

from django.conf import settings
from django.contrib.auth import logout as close_session
from django.http import JsonResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from admin_cohort.auth import jwt_tokens, oidc
from admin_cohort.auth.errors import AuthError, IdentityProviderError
from admin_cohort.auth.login import LoginThrottledError, end_login, login_with_credentials, login_with_oidc_code
from admin_cohort.auth.serializers import (
    CredentialsLoginSerializer,
    ErrorSerializer,
    LoginResponseSerializer,
    LogoutSerializer,
    OidcLoginSerializer,
    RefreshSerializer,
    TokenPairSerializer,
)
from admin_cohort.auth.service import JWT, OIDC
from admin_cohort.serializers import UserSerializer, format_json_datetime
from admin_cohort.views.mixins import AuditedViewMixin

METHOD_HEADER = OpenApiParameter(
    "AuthorizationMethod", str, OpenApiParameter.HEADER, enum=[JWT, OIDC], description="JWT (default) or OIDC"
)


def _method(request) -> str:
    return request.META.get("HTTP_AUTHORIZATIONMETHOD") or JWT


class LoginView(AuditedViewMixin, APIView):
    """Ignores any Authorization header: clients send `Bearer null` (or a stale token) here."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    audited_methods = ("POST",)

    @extend_schema(
        request=CredentialsLoginSerializer,
        responses={200: LoginResponseSerializer, 400: None, 401: ErrorSerializer, 429: ErrorSerializer},
        parameters=[METHOD_HEADER],
        description="`JWT`: username + password (multipart or JSON). `OIDC`: auth_code + redirect_uri.",
    )
    def post(self, request):
        method = _method(request)
        try:
            if method == JWT:
                body = CredentialsLoginSerializer(data=request.data)
                body.is_valid(raise_exception=True)
                user, tokens = login_with_credentials(request, **body.validated_data)
            elif method == OIDC and settings.ENABLE_OIDC_AUTH:
                user, tokens = self._oidc_login(request)
            else:
                return Response({"error": f"Unknown authorization method `{method}`"}, status=401)
        except LoginThrottledError as error:
            return Response({"error": str(error)}, status=429, headers={"Retry-After": "60"})
        except AuthError as error:
            return Response({"error": str(error)}, status=status.HTTP_401_UNAUTHORIZED)
        return Response(
            {
                "user": UserSerializer(user).data,
                "last_login": format_json_datetime(user.last_login),
                **tokens,
            }
        )

    @staticmethod
    def _oidc_login(request):
        body = OidcLoginSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        for key in ("auth_code", "redirect_uri"):
            if key not in body.validated_data:
                raise AuthError(f"Missing `'{key}'`")
        return login_with_oidc_code(request, body.validated_data["auth_code"], body.validated_data["redirect_uri"])


class RefreshView(APIView):
    """Works with the refresh token alone: an expired access token does not prevent refreshing."""

    permission_classes = [AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=RefreshSerializer,
        responses={200: TokenPairSerializer, 400: ErrorSerializer},
        parameters=[METHOD_HEADER],
    )
    def post(self, request):
        body = RefreshSerializer(data=request.data)
        if not body.is_valid():
            return Response({"error": "Missing or invalid `refresh_token`"}, status=400)
        token = body.validated_data["refresh_token"]
        method = _method(request)
        try:
            if method == JWT:
                _username, pair = jwt_tokens.refresh(token)
                return Response({"access_token": pair.access_token, "refresh_token": pair.refresh_token})
            if method == OIDC and settings.ENABLE_OIDC_AUTH:
                return Response(oidc.refresh(token))
        except AuthError as error:
            return Response({"error": str(error)}, status=400)
        return Response({"error": f"Unknown authorization method `{method}`"}, status=400)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=LogoutSerializer,
        responses={200: inline_serializer("LogoutResponse", {}), 400: ErrorSerializer, 502: ErrorSerializer},
        parameters=[METHOD_HEADER],
    )
    def post(self, request):
        body = LogoutSerializer(data=request.data)
        if not body.is_valid():
            return Response({"error": "Invalid `refresh_token`"}, status=400)
        try:
            end_login(
                method=request.META.get("HTTP_AUTHORIZATIONMETHOD"),
                access_token=request.auth,
                refresh_token=body.validated_data.get("refresh_token"),
            )
        except IdentityProviderError as error:
            return Response({"error": str(error)}, status=502)
        except AuthError as error:
            return Response({"error": str(error)}, status=400)
        finally:
            close_session(request)
        return Response({})


def not_found_root(request, *args, **kwargs):
    return JsonResponse({"error": "Page Not Found"}, status=404)
