"""Turns errors that would be 500s into clear 4xx answers."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, OperationalError
from psycopg_pool import PoolTimeout
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

BUSY = {"error": "The server is too busy to answer now, please try again in a moment"}


def no_free_connection(error: BaseException) -> bool:
    """A web process's connection pool stayed empty for its whole wait (admin_cohort.databases)."""
    return isinstance(error, OperationalError) and isinstance(error.__cause__, PoolTimeout)


def exception_handler(exc, context):
    if no_free_connection(exc):
        return Response(BUSY, status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": "5"})
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, IntegrityError):
        set_rollback()
        return Response({"error": "The request conflicts with existing data"}, status=status.HTTP_409_CONFLICT)
    elif isinstance(exc, DataError | ValueError | OverflowError):
        set_rollback()
        return Response({"error": "Invalid value in the request"}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
