"""Placeholder: being written."""

from rest_framework import viewsets


class FhirFilterViewSet(viewsets.ViewSet):
    pass
