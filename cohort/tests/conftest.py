"""Fixtures shared by the cohort tests: two researchers with their clients, and workspace rows built in the DB."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cohort.models import Folder, Request, RequestQuerySnapshot
from cohort.tests.builders import query_on
from tests.factories import UserFactory


@pytest.fixture
def researcher(db):
    return UserFactory(username="4000001", firstname="Alice", lastname="MARTIN")


@pytest.fixture
def researcher_client(make_client, researcher):
    return make_client(researcher)


@pytest.fixture
def other(db):
    """Another researcher, whose objects the first one must never see nor change."""
    return UserFactory(username="4000002", firstname="Bob", lastname="DURAND")


@pytest.fixture
def other_client(make_client, other):
    return make_client(other)


@pytest.fixture
def snapshot_query():
    """`snapshot_query(["8312002244", ...])`: a valid `serialized_query` on these perimeter cohort ids."""
    return lambda perimeter_cohort_ids=("8312002244",): query_on(*perimeter_cohort_ids)


@pytest.fixture
def make_folder(db):
    def make(owner, **fields) -> Folder:
        fields.setdefault("name", "Diabetes")
        return Folder.objects.create(owner=owner, **fields)

    return make


@pytest.fixture
def make_request(make_folder):
    def make(owner, *, parent_folder: Folder | None = None, **fields) -> Request:
        fields.setdefault("name", "Request 1")
        return Request.objects.create(owner=owner, parent_folder=parent_folder or make_folder(owner), **fields)

    return make


@pytest.fixture
def make_snapshot(make_request):
    """`make_snapshot(owner, request=..., previous=..., perimeters=[...])`: numbered like the API numbers versions."""

    def make(
        owner,
        *,
        request: Request | None = None,
        previous: RequestQuerySnapshot | None = None,
        perimeters: tuple[str, ...] = ("8312002244",),
        **fields,
    ) -> RequestQuerySnapshot:
        if request is None:
            request = previous.request if previous else make_request(owner)
        fields.setdefault("version", RequestQuerySnapshot.objects.filter(request=request).count() + 1)
        return RequestQuerySnapshot.objects.create(
            owner=owner,
            request=request,
            previous_snapshot=previous,
            serialized_query=query_on(*perimeters),
            perimeters_ids=list(perimeters),
            **fields,
        )

    return make


@pytest.fixture
def queries_of():
    """`queries_of(client, url, **params)`: how many SQL queries a successful GET costs."""

    def count(client, url: str, **params) -> int:
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, params)
        assert response.status_code == 200, response.content
        return len(queries)

    return count
