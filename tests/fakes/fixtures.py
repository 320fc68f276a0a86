"""Fixtures of the export services' fakes on loopback, with the settings pointing at them (a pytest plugin of the
root conftest): WebHDFS (over HTTP, or HTTPS), the Export API (leaving the archives it makes in that WebHDFS),
the Hadoop API; certificates for the tests of HTTPS, and a Kerberos realm for those of SPNEGO."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from admin_cohort.http import environment_settings
from tests.fakes.export_api import FakeExportApi
from tests.fakes.hadoop_api import FakeHadoopApi
from tests.fakes.kerberos import Realm, kerberos_realm, missing_parts
from tests.fakes.webhdfs import FakeWebHdfs


@contextmanager
def _storage(settings, **options) -> Iterator[FakeWebHdfs]:
    """A fake WebHDFS (`options`: FakeWebHdfs's), the only storage provider for the test."""
    with FakeWebHdfs(**options) as fake:
        settings.STORAGE_PROVIDERS = [fake.url]
        yield fake


@pytest.fixture
def webhdfs(settings):
    with _storage(settings) as fake:
        yield fake


@dataclass(frozen=True)
class Tls:
    server: ssl.SSLContext  # for a fake service: a certificate of 127.0.0.1
    client: ssl.SSLContext  # for a test's own client: trusts that certificate
    cert_file: Path  # the same certificate and its key, for a server configured by file
    key_file: Path

    @property
    def uvicorn_options(self) -> dict[str, str]:
        """uvicorn's options to serve HTTPS with the certificate (admin_cohort.web_server.serving_in_thread)."""
        return {"ssl_certfile": str(self.cert_file), "ssl_keyfile": str(self.key_file)}


@pytest.fixture
def tls(tmp_path, monkeypatch) -> Tls:
    """A certificate authority made for the test, which the backend's HTTP clients trust (REQUESTS_CA_BUNDLE, as an
    operator would configure a hospital's own CA), and a certificate of 127.0.0.1 it signed."""
    authority = trustme.CA()
    certificate = authority.issue_cert("127.0.0.1")
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    certificate.configure_cert(server)
    client = ssl.create_default_context()
    authority.configure_trust(client)
    bundle, cert_file, key_file = tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    authority.cert_pem.write_to_path(bundle)
    certificate.cert_chain_pems[0].write_to_path(cert_file)
    certificate.private_key_pem.write_to_path(key_file)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    environment_settings.cache_clear()  # read once per origin, and ports are reused
    yield Tls(server=server, client=client, cert_file=cert_file, key_file=key_file)
    environment_settings.cache_clear()


@pytest.fixture
def webhdfs_over_tls(settings, tls):
    with _storage(settings, tls=tls.server) as fake:
        yield fake


@pytest.fixture(scope="session")
def _kerberos_realm() -> Realm:
    """One realm for the whole run. Skipping is deliberate: the README's test command must work on a machine with
    Python only, where MIT Kerberos cannot be installed by pip; the skip names what is missing. CI installs it and
    sets REQUIRE_KERBEROS_TESTS=1, so that there a missing part fails these tests instead of skipping them."""
    missing = missing_parts()
    if missing:
        reason = f"Kerberos is not installed here (missing: {', '.join(missing)}; see tests/fakes/kerberos.py)"
        if os.environ.get("REQUIRE_KERBEROS_TESTS") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    with kerberos_realm() as realm:
        yield realm


@pytest.fixture
def kerberos(_kerberos_realm, monkeypatch, settings) -> Realm:
    """The process holds the realm's user ticket (its environment names the realm's configuration, credential cache
    and service keytab), and the storage authenticates with Kerberos."""
    for name, value in _kerberos_realm.env.items():
        monkeypatch.setenv(name, value)
    settings.STORAGE_PROVIDERS_AUTH = "kerberos"
    return _kerberos_realm


@pytest.fixture
def kerberized_webhdfs(settings, kerberos):
    with _storage(settings, kerberos=True) as fake:
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
