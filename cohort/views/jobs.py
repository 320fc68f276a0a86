"""Placeholder: being written."""

from rest_framework import viewsets


class DatedMeasureViewSet(viewsets.ViewSet):
    pass


class CohortResultViewSet(viewsets.ViewSet):
    pass
