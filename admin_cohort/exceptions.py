"""Turns errors that would be 500s into clear 4xx answers."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)
    elif isinstance(exc, IntegrityError):
        set_rollback()
        return Response({"error": "The request conflicts with existing data"}, status=status.HTTP_409_CONFLICT)
    elif isinstance(exc, DataError | ValueError | OverflowError):
        set_rollback()
        return Response({"error": "Invalid value in the request"}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)
