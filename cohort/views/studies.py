"""Placeholder: being written."""

from rest_framework import viewsets


class FeasibilityStudyViewSet(viewsets.ViewSet):
    pass


class RequestRefreshScheduleViewSet(viewsets.ViewSet):
    pass
