"""How each kind of process holds its PostgreSQL connections.

A web process (admin_cohort.asgi) runs every request in a context of its own (on a thread kept for later
requests, admin_cohort.asgi_handler), and Django keeps a connection per context: it would not serve the next
request, and opening one per request costs the server a new backend each time, the largest part of a
request's database time. Its connections come from a pool instead. Every other process (Celery workers,
management commands) runs its work in one thread and keeps its connection (CONN_MAX_AGE), which is also why
no pool is made before Celery forks its worker processes: a pool inherited by a child shares its sockets.
"""

from __future__ import annotations

from django.conf import settings

POSTGRESQL = "django.db.backends.postgresql"


def pool_web_connections() -> None:
    """Called by the web entry point before Django sets up: the default database's connections come from a pool
    of at most DB_POOL_MAX_SIZE connections (no persistent connection: Django forbids both)."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != POSTGRESQL:
        return  # SQLite (embedded mode): one file, no server to spare
    database["CONN_MAX_AGE"] = 0
    database.setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": settings.DB_POOL_MAX_SIZE,
        # A request waits this long for a free connection, then fails rather than hang.
        "timeout": 10,
    }
