"""Placeholder: being written."""

from rest_framework import viewsets


class FolderViewSet(viewsets.ViewSet):
    pass


class RequestViewSet(viewsets.ViewSet):
    pass


class RequestQuerySnapshotViewSet(viewsets.ViewSet):
    pass
