"""The one HTTP session every outside service is called with (admin_cohort.http), against a fake server."""

from __future__ import annotations

import pytest

from admin_cohort.http import environment_settings, http_session
from tests.fakes.http_server import FakeServer, Reply


@pytest.fixture
def server():
    with FakeServer() as fake:
        fake.reply("GET", "/status", Reply(json={"status": "ok"}))
        yield fake


def test_closing_a_session_closes_its_kept_alive_connections(server):
    with http_session() as session:
        first = session.get(f"{server.url}/status")
        second = session.get(f"{server.url}/status")
        assert server.open_connections == 1  # kept alive, and used again
    # Even while the caller still holds the answers (which hold on to the connection pool).
    server.wait_for_no_open_connection(timeout=2)
    assert first.json() == second.json() == {"status": "ok"}


def test_a_closed_session_still_answers(server):
    session = http_session()
    session.get(f"{server.url}/status")
    session.close()
    assert session.get(f"{server.url}/status").json() == {"status": "ok"}
    session.close()
    server.wait_for_no_open_connection(timeout=2)


class TestProxiesFromTheEnvironment:
    """requests' environment variables still apply, host by host, though they are read once per origin."""

    @pytest.fixture
    def environment(self, monkeypatch):
        environment_settings.cache_clear()
        yield monkeypatch
        environment_settings.cache_clear()

    def test_http_proxy_is_used_except_for_the_hosts_of_no_proxy(self, environment, server):
        with FakeServer() as proxy:
            proxy.reply("GET", "/status", Reply(json={"status": "proxied"}))
            direct = server.url.replace("127.0.0.1", "localhost")  # requests matches ports in NO_PROXY for names only
            environment.setenv("HTTP_PROXY", proxy.url)
            environment.setenv("NO_PROXY", direct.removeprefix("http://"))
            with http_session() as session:
                for _ in range(2):  # the second time from what was read the first time
                    assert session.get("http://query-executor.test/status").json() == {"status": "proxied"}
                    assert session.get(f"{direct}/status").json() == {"status": "ok"}
            assert [r.headers["Host"] for r in proxy.requests] == ["query-executor.test"] * 2
            assert len(server.requests) == 2

    def test_a_call_given_its_own_proxies_uses_them(self, environment, server):
        with FakeServer() as proxy:
            proxy.reply("GET", "/status", Reply(json={"status": "proxied"}))
            environment.setenv("NO_PROXY", "*")
            with http_session() as session:
                answer = session.get("http://query-executor.test/status", proxies={"http": proxy.url})
            assert answer.json() == {"status": "proxied"}

    def test_the_ca_bundle_variable_is_the_default_verification(self, environment, tmp_path):
        bundle = tmp_path / "hospital-ca.pem"
        environment.setenv("REQUESTS_CA_BUNDLE", str(bundle))
        with http_session() as session:
            settings = session.merge_environment_settings("https://fhir.test/Patient", {}, None, None, None)
            assert settings["verify"] == str(bundle)
            assert session.merge_environment_settings("https://fhir.test/", {}, None, False, None)["verify"] is False
