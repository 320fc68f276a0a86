"""Static bearer tokens of the machine users (QueryExecutor, Solr ETL, deployment and export pipelines)."""

from __future__ import annotations

import hmac

from django.conf import settings


def _configured() -> list[tuple[str, str]]:
    pairs = [
        (settings.QUERY_EXECUTOR_TOKEN, settings.QUERY_EXECUTOR_USERNAME),
        (settings.SOLR_ETL_TOKEN, settings.SOLR_ETL_USERNAME),
        (settings.ROLLOUT_TOKEN, settings.ROLLOUT_USERNAME),
        (settings.EXPORT_PIPELINE_TOKEN, settings.EXPORT_PIPELINE_USERNAME),
    ]
    return [(token, username) for token, username in pairs if token]


def username_for_token(token: str) -> str | None:
    """Constant-time comparison against every configured token; unset tokens never match."""
    matched = None
    for configured, username in _configured():
        if hmac.compare_digest(configured.encode(), token.encode()):
            matched = username
    return matched


def is_gate_bypass_token(token: str) -> bool:
    """QueryExecutor and Solr ETL callbacks pass the maintenance gate."""
    return username_for_token(token) in settings.APPLICATIVE_USERS


def machine_usernames() -> set[str]:
    return {
        settings.QUERY_EXECUTOR_USERNAME,
        settings.SOLR_ETL_USERNAME,
        settings.ROLLOUT_USERNAME,
        settings.EXPORT_PIPELINE_USERNAME,
    }
