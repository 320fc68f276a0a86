"""Deleting exported files once their retention is over (spec 02 §17.5), carrying on past storage errors."""

from __future__ import annotations

import logging
from contextlib import closing
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cohort.models import JobStatus
from exports.engine import StorageError, export_engine
from exports.models import DOWNLOADABLE_FORMATS, Export
from exports.services import notifications

_logger = logging.getLogger("info")


def expired_exports(now=None):
    now = now or timezone.now()
    return Export.objects.filter(
        request_job_status=JobStatus.FINISHED,
        output_format__in=DOWNLOADABLE_FORMATS,
        is_user_notified=True,
        clean_datetime__isnull=True,
        created_at__lt=now - timedelta(days=settings.DAYS_TO_KEEP_EXPORTED_FILES),
    ).select_related("owner")


def delete_expired_files() -> tuple[int, int]:
    """Deletes the archives of expired exports; returns (deleted, failed). An export whose file could not be
    deleted stays uncleaned, so the next run tries again."""
    exports = list(expired_exports())
    if not exports:
        return 0, 0
    try:
        storage = export_engine().storage()
    except StorageError as error:
        _logger.error("Exported files not cleaned, no storage available: %s", error)
        return 0, len(exports)
    deleted = failed = 0
    with closing(storage):
        for export in exports:
            path = f"{export.target_full_path}.zip"
            try:
                if not storage.delete(path):
                    # Deleted by hand, or never written: the export is cleaned all the same, or retried for ever.
                    _logger.warning("Files of export %s were already gone (%s)", export.pk, path)
            except StorageError as error:
                _logger.error("Files of export %s not deleted: %s", export.pk, error)
                failed += 1
                continue
            with transaction.atomic():
                Export.objects.filter(pk=export.pk).update(clean_datetime=timezone.now())
                notifications.files_deleted(export)
            deleted += 1
    return deleted, failed
