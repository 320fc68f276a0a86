"""Storing a validated export, its tables and the cohort subsets it waits for (spec 02 §16.4); retry, relaunch."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from cohort.models import CohortResult, FhirFilter, JobStatus
from cohort.services.cohorts import TABLES_WITHOUT_SUBSET, create_subset
from exports.models import DOWNLOADABLE_FORMATS, Export, ExportTable, OutputFormat
from exports.services import workflow
from exports.services.export_requests import ExportRequest, TableRequest

# What the Export API should leave out of the `note` table unless the user chose a filter (spec 02 §16.4.2).
NOTE_DEFAULT_FILTER = (
    "type:not=https%3A%2F%2Fterminology.eds.aphp.fr%2Faphp-orbis-document-textuel-hospitalier%7Cdoc-impor"
    "&contenttype=text%2Fplain"
)


class RetryRefused(Exception):  # noqa: N818 (reads as "raise RetryRefused(...)")
    pass


def _target(owner, request: ExportRequest) -> tuple[str, str]:
    stamp = timezone.now().strftime("%Y%m%d_%H%M%S%f")
    if request.output_format == OutputFormat.HIVE:
        return f"{request.datalab.name}_{stamp}", settings.HIVE_DB_PATH
    location = settings.EXPORT_XLSX_PATH if request.output_format == OutputFormat.XLSX else settings.EXPORT_CSV_PATH
    return f"{owner.username}_{stamp}", location


def _note_filter(export: Export) -> FhirFilter:
    return FhirFilter.objects.create(
        owner=export.owner,
        fhir_resource="DocumentReference",
        fhir_version="4.0",
        name=f"{str(export.pk)[:8]}_note_(auto generated)",
        filter=NOTE_DEFAULT_FILTER,
        auto_generated=True,
    )


def _store_table(export: Export, table: TableRequest, auth: dict | None) -> ExportTable:
    fhir_filter = table.fhir_filter
    if table.name == "note" and table.cohort_source is not None and fhir_filter is None:
        fhir_filter = _note_filter(export)
    subset = None
    if table.cohort_source is not None and fhir_filter is not None and table.name not in TABLES_WITHOUT_SUBSET:
        subset = _subset(export, table.name, table.cohort_source, fhir_filter, auth)
    return ExportTable.objects.create(
        export=export,
        name=table.name,
        fhir_filter=fhir_filter,
        cohort_result_source=table.cohort_source,
        cohort_result_subset=subset,
        columns=table.columns,
        pivot_merge=table.pivot_merge,
        pivot_merge_columns=table.pivot_merge_columns,
        pivot_merge_ids=table.pivot_merge_ids,
    )


def _subset(export: Export, table_name: str, source: CohortResult, fhir_filter: FhirFilter, auth: dict | None):
    """The cohort of the rows of `source` that the table's filter keeps, made for the export's owner."""
    return create_subset(
        owner=export.owner,
        source=source,
        table_name=table_name,
        fhir_resource=fhir_filter.fhir_resource,
        fhir_filter=fhir_filter.filter,
        auth=auth or {},
    )


@transaction.atomic
def create_export(*, owner, request: ExportRequest, auth: dict | None = None) -> Export:
    """Stores the export and its tables; the workflow starts after commit, now or once its subsets exist.

    `auth`: the requester's credentials, forwarded to the FHIR server by the subsets' cohort creations.
    """
    target_name, target_location = _target(owner, request)
    export = Export.objects.create(
        owner=owner,
        output_format=request.output_format,
        nominative=request.nominative,
        shift_dates=request.shift_dates,
        group_tables=request.group_tables,
        motivation=request.motivation,
        datalab=request.datalab,
        target_name=target_name,
        target_location=target_location,
    )
    tables = [_store_table(export, table, auth) for table in request.tables]
    if not any(table.cohort_result_subset_id for table in tables):
        workflow.launch_after_commit(export)
    return export


@transaction.atomic
def retry(export: Export, *, auth: dict | None = None) -> Export:
    """Runs a failed export's workflow again from its first step (raises RetryRefused).

    Subsets that did not finish (a common cause of failure) are made again, and the export waits for them.
    `auth`: the caller's credentials, forwarded to the FHIR server by those subsets' creations.
    """
    if export.output_format in DOWNLOADABLE_FORMATS and timezone.now() >= export.available_until:
        # Its files would be past their retention as soon as written: deleted unread.
        raise RetryRefused(
            f"This export is older than {settings.DAYS_TO_KEEP_EXPORTED_FILES} days and can no longer be retried: "
            "please make a new export request"
        )
    updated = Export.objects.filter(pk=export.pk, request_job_status=JobStatus.FAILED).update(
        request_job_status=JobStatus.NEW,
        request_job_fail_msg="",
        request_job_duration="",
        request_job_id="",
        retried=True,
        is_user_notified=False,
        step="",
        step_task_id="",
        launched_at=None,
        polled_at=None,
        poll_failures=0,
        modified_at=timezone.now(),
    )
    if not updated:
        raise RetryRefused("Only failed exports can be retried")
    remade = [_remake_subset(export, table, auth) for table in _tables_with_unfinished_subset(export)]
    export.refresh_from_db()
    if not remade:
        workflow.launch_after_commit(export)
    return export


def _tables_with_unfinished_subset(export: Export) -> list[ExportTable]:
    return list(
        export.export_tables.filter(cohort_result_subset__isnull=False)
        .exclude(cohort_result_subset__request_job_status=JobStatus.FINISHED)
        .select_related("cohort_result_source__dated_measure", "cohort_result_source__request_query_snapshot")
        .select_related("fhir_filter")
    )


def _remake_subset(export: Export, table: ExportTable, auth: dict | None) -> CohortResult:
    source, fhir_filter = table.cohort_result_source, table.fhir_filter
    if source is None or source.deleted is not None or fhir_filter is None or fhir_filter.deleted is not None:
        raise RetryRefused(
            f"The source cohort or the FHIR filter of the `{table.name}` table no longer exists: "
            "please make a new export request"
        )
    table.cohort_result_subset = _subset(export, table.name, source, fhir_filter, auth)
    table.save(update_fields=["cohort_result_subset", "modified_at"])
    return table.cohort_result_subset


def relaunch(export: Export, *, auth: dict | None = None) -> Export:
    """A new export with the same settings, owned by the same owner and validated again as them (so the
    target path is set and the owner's rights still hold); raises the validation's errors."""
    from exports.services.validation import check_export_request

    request = ExportRequest(
        output_format=export.output_format,
        nominative=export.nominative,
        shift_dates=export.shift_dates,
        group_tables=export.group_tables,
        motivation=export.motivation or "",
        datalab=export.datalab,
        tables=[
            TableRequest(
                name=table.name,
                cohort_source=table.cohort_result_source,
                # Auto-generated filters are made again by the new export.
                fhir_filter=None if table.fhir_filter and table.fhir_filter.auto_generated else table.fhir_filter,
                columns=table.columns,
                pivot_merge=table.pivot_merge,
                pivot_merge_columns=table.pivot_merge_columns,
                pivot_merge_ids=table.pivot_merge_ids,
            )
            for table in export.export_tables.select_related("cohort_result_source", "fhir_filter")
        ],
    )
    check_export_request(export.owner, request)
    return create_export(owner=export.owner, request=request, auth=auth)
