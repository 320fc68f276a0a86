"""Shared fixtures: API clients as a given user, rights, a real Celery worker, a live ASGI server."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from admin_cohort.auth import jwt_tokens
from admin_cohort.selectors import gate_phases
from tests.factories import PerimeterFactory, RoleFactory, UserFactory, full_admin_role, grant

pytest_plugins = ["tests.fakes.fixtures"]


class Client(APIClient):
    """An API client that speaks like the front-ends (JWT bearer + AuthorizationMethod)."""

    def as_user(self, user) -> Client:
        pair = jwt_tokens.issue_pair(user.username)
        self.tokens = pair
        self.credentials(HTTP_AUTHORIZATION=f"Bearer {pair.access_token}", HTTP_AUTHORIZATIONMETHOD="JWT")
        return self


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Each test starts with none of this run's cache keys (throttle counters, tick locks, responses).

    `delete_pattern` honours the run's key prefix: unlike `cache.clear()`, it never flushes the Redis
    database that the broker and other runs share.
    """
    cache.delete_pattern("*")
    gate_phases.forget()  # phases read by an earlier test, rolled back since
    yield


@pytest.fixture
def anonymous(db) -> Client:
    return Client()


@pytest.fixture
def make_client(db):
    return lambda user: Client().as_user(user)


@pytest.fixture
def user(db):
    return UserFactory()


@pytest.fixture
def full_admin(db):
    admin = UserFactory(username="admin0001", firstname="Ada", lastname="ADMIN")
    grant(admin, full_admin_role(), PerimeterFactory())
    return admin


@pytest.fixture
def user_manager(db):
    manager = UserFactory(username="manager01", firstname="Max", lastname="MANAGER")
    grant(manager, RoleFactory(name="Users manager", right_manage_users=True))
    return manager


@pytest.fixture
def admin_client(full_admin, make_client) -> Client:
    return make_client(full_admin)


@pytest.fixture
def user_client(user, make_client) -> Client:
    return make_client(user)


@pytest.fixture
def celery_worker(transactional_db):
    """A real Celery worker consuming the run's Redis queue, in a thread of the test process."""
    from celery.contrib.testing.worker import start_worker

    from admin_cohort.celery import app

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10) as worker:
        yield worker


@pytest.fixture
def live_server_url(transactional_db):
    """The ASGI application (HTTP + websocket) served by uvicorn, as in production, from a thread of this process
    on loopback: it reads the test's settings and database."""
    from admin_cohort.asgi import application
    from admin_cohort.web_server import serving_in_thread

    with serving_in_thread(application) as host_port:
        yield host_port
