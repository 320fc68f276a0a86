"""Downloading the archive of a finished CSV/XLSX export (spec 02 §17.4), streamed from the export storage."""

from __future__ import annotations

from cohort.models import JobStatus
from exports.engine import StoredFile, export_engine
from exports.models import DOWNLOADABLE_FORMATS, Export
from exports.selectors import first_source_cohort


class DownloadRefused(Exception):  # noqa: N818 (reads as "raise DownloadRefused(...)")
    """The export has no archive to download (answered 400 with the message)."""


def open_archive(export: Export) -> StoredFile:
    """The export's archive, read chunk by chunk (raises DownloadRefused, exports.engine.StorageError)."""
    if export.request_job_status != JobStatus.FINISHED or export.output_format not in DOWNLOADABLE_FORMATS:
        raise DownloadRefused("Error downloading files: The export is not done yet or has failed or not downloadable")
    if not export.files_available:
        raise DownloadRefused("Error downloading files: The exported files are no longer available on the server.")
    return export_engine().storage().open(f"{export.target_full_path}.zip")


def archive_name(export: Export) -> str:
    """`export_<group id of the first source cohort>.zip`."""
    cohort = first_source_cohort(export)
    return f"export_{cohort.group_id if cohort and cohort.group_id else export.pk}.zip"
