from __future__ import annotations

import os

from celery import Celery, signals
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "admin_cohort.settings")

app = Celery("admin_cohort")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.task_prerun.connect
@signals.task_postrun.connect
def _recycle_connections(**kwargs) -> None:
    """What Django does around each request, around each task: connections that broke or outlived CONN_MAX_AGE
    are closed (CELERY_DB_REUSE_MAX keeps Celery from closing the others)."""
    close_old_connections()
