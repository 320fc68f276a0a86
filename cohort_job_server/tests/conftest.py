"""The fake QueryExecutor and FHIR server on loopback, with the backend's settings pointing at them."""

from __future__ import annotations

import pytest

from tests.fakes.fhir_server import FakeFhirServer
from tests.fakes.http_server import FakeServer, Reply
from tests.fakes.query_executor import FakeQueryExecutor


@pytest.fixture
def qe(settings):
    with FakeQueryExecutor() as fake:
        settings.QUERY_EXECUTOR_URL = fake.url
        settings.USE_SOLR = False
        settings.TEST_FHIR_QUERIES = False
        settings.JOB_SERVER_TIMEOUT_SECONDS = 1
        yield fake


@pytest.fixture
def fhir(settings, qe):
    with FakeFhirServer() as fake:
        settings.FHIR_URL = fake.url
        settings.USE_SOLR = True
        yield fake


@pytest.fixture
def backend():
    """Stands for the backend's callback endpoints: records the QueryExecutor's PATCHes, answers 200."""
    with FakeServer() as fake:
        fake.route("PATCH", "/cohort/{kind}/{uuid}", lambda request, **_: Reply(json={}))
        yield fake
