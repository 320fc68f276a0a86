"""Settings of the test-suite: production parts (PostgreSQL, Redis), isolated per run.

Every run gets its own database (created and dropped by pytest-django), Celery queue, cache prefix and
channel-layer prefix, so runs on one machine never see each other's data.
"""

import os
import uuid

RUN_ID = os.environ.setdefault("TEST_RUN_ID", uuid.uuid4().hex[:10])

_DEFAULTS = {
    "DJANGO_SECRET_KEY": "test-secret-key-not-for-production",
    "JWT_SIGNING_KEY": "test-jwt-signing-key-not-for-production",
    "DB_HOST": "127.0.0.1",
    "DB_PORT": "5432",
    "DB_NAME": f"c360_{RUN_ID}",
    "DB_USER": "postgres",
    "DB_PASSWORD": "",
    # The live test server runs in threads of the test process: connections kept by its dead request threads
    # would linger until garbage-collected (and block dropping the test database).
    "DB_CONN_MAX_AGE": "0",
    "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "CELERY_TASK_DEFAULT_QUEUE": f"test-{RUN_ID}",
    "CACHE_KEY_PREFIX": f"test-{RUN_ID}",
    "CHANNELS_PREFIX": f"test-{RUN_ID}",
    "PERIMETER_TYPES": "AP-HP,Groupe hospitalier (GH),Hôpital,Pôle/DMU,Unité Fonctionnelle (UF)",
    "ROOT_PERIMETER_ID": "9999",
    "QUERY_EXECUTOR_TOKEN": "qe-static-token",
    "SOLR_ETL_TOKEN": "etl-static-token",
    "ROLLOUT_TOKEN": "rollout-static-token",
    "EXPORT_PIPELINE_TOKEN": "export-pipeline-static-token",
    "SOCKET_LOGGER_ENABLED": "false",
    "ENABLE_OIDC_AUTH": "false",
    "SCHEDULED_TASKS": "",
    "INCLUDED_APPS": "accesses,content_management,accesses_perimeters,cohort,cohort_job_server,exports,exporters",
    # The OMOP source of the perimeter sync: a second per-run database (accesses_perimeters/tests fill it).
    "PERIMETERS_SOURCE_DB_HOST": "127.0.0.1",
    "PERIMETERS_SOURCE_DB_PORT": "5432",
    "PERIMETERS_SOURCE_DB_NAME": f"c360_{RUN_ID}_omop",
    "PERIMETERS_SOURCE_DB_USER": "postgres",
    "PERIMETERS_SOURCE_DB_PASSWORD": "",
}
for _name, _value in _DEFAULTS.items():
    os.environ.setdefault(_name, _value)

from admin_cohort.settings import *  # noqa: E402,F403

EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing in tests only
