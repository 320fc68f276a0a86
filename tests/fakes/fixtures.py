"""Fixtures of the export services' fakes on loopback, with the settings pointing at them (a pytest plugin of the
root conftest): WebHDFS, the Export API (leaving the archives it makes in that WebHDFS), the Hadoop API."""

from __future__ import annotations

import pytest

from tests.fakes.export_api import FakeExportApi
from tests.fakes.hadoop_api import FakeHadoopApi
from tests.fakes.webhdfs import FakeWebHdfs


@pytest.fixture
def webhdfs(settings):
    with FakeWebHdfs() as fake:
        settings.STORAGE_PROVIDERS = [fake.url]
        yield fake


@pytest.fixture
def export_api(settings, webhdfs):
    """Leaves the archive of every CSV/XLSX export it runs to the end in `webhdfs`."""
    with FakeExportApi(webhdfs=webhdfs) as fake:
        settings.EXPORT_API_URL = fake.url
        settings.EXPORT_API_AUTH_TOKEN = fake.token
        yield fake


@pytest.fixture
def hadoop_api(settings):
    with FakeHadoopApi() as fake:
        settings.HADOOP_API_URL = fake.url
        settings.HADOOP_API_AUTH_TOKEN = fake.token
        yield fake
