"""How processes hold their PostgreSQL connections (admin_cohort.databases): web processes from a pool, the others
keep theirs; a pool that stays empty answers 503, not 500."""

from __future__ import annotations

import json

import pytest
from django.db import OperationalError
from psycopg_pool import PoolTimeout

from admin_cohort.exceptions import exception_handler
from admin_cohort.tests.test_configuration import run_python

pytestmark = pytest.mark.slow

SHOW_DEFAULT_DATABASE = (
    "from django.conf import settings; d = settings.DATABASES['default']; "
    "print(json.dumps({'options': d.get('OPTIONS', {}), 'max_age': d['CONN_MAX_AGE']}))"
)


def test_a_web_process_takes_its_connections_from_a_pool():
    result = run_python(f"import json, admin_cohort.asgi; {SHOW_DEFAULT_DATABASE}", DB_POOL_MAX_SIZE="7")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "options": {"pool": {"min_size": 1, "max_size": 7, "timeout": 10}},
        "max_age": 0,
    }


def test_other_processes_keep_their_connection():
    code = f"import json, django; django.setup(); import admin_cohort.asgi; {SHOW_DEFAULT_DATABASE}"
    result = run_python(code, DB_CONN_MAX_AGE="600")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"options": {}, "max_age": 600}


def test_an_empty_pool_is_a_503_with_a_retry_delay():
    error = OperationalError("couldn't get a connection after 10.00 sec")
    error.__cause__ = PoolTimeout("couldn't get a connection after 10.00 sec")
    response = exception_handler(error, {})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.data == {"error": "The server is too busy to answer now, please try again in a moment"}
