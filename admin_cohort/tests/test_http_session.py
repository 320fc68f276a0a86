"""The one HTTP session every outside service is called with (admin_cohort.http), against a fake server."""

from __future__ import annotations

import pytest

from admin_cohort.http import http_session
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
