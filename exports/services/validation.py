"""Everything checked before an export is stored (spec 02 §16.1-§16.3): nothing is written on a refusal.

`parse_export_request` reads a creation body as its caller sent it; `check_export_request` holds the rules that
do not depend on the body's spelling, so that a relaunch validates its copy again as the export's owner.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping

from django.conf import settings

from admin_cohort.lookups import one_or_none
from cohort.models import CohortResult, FhirFilter, JobStatus
from exports.models import DOWNLOADABLE_FORMATS, Datalab, OutputFormat
from exports.selectors import is_export_admin
from exports.serializers import ExportRequestSerializer
from exports.services.export_requests import PATIENT_TABLES, ExportRequest, TableRequest
from exports.services.export_rights import export_refusal, missing_rights


class InvalidExportRequest(Exception):  # noqa: N818 (reads as "raise InvalidExportRequest(...)")
    """Answered 400 `["Invalid export data: <message>"]`."""


class ExportForbidden(Exception):  # noqa: N818
    """The caller holds no right to this kind of export: answered 403 with the (French) message."""


def parse_export_request(user, body: object) -> ExportRequest:
    """The export `user` asks for in a creation body, checked (raises InvalidExportRequest, ExportForbidden)."""
    if not isinstance(body, Mapping):
        raise InvalidExportRequest("The body must be a JSON object")
    shapes = ExportRequestSerializer(data=body)
    if not shapes.is_valid():
        raise InvalidExportRequest("; ".join(_flatten(shapes.errors)))
    data = shapes.validated_data
    refusal = export_refusal(user, data["output_format"], data["nominative"])
    if refusal:
        raise ExportForbidden(refusal)

    tables = data["export_tables"]
    cohorts = _by_pk(CohortResult.objects.all(), tables, "cohort_result_source")
    filters = _by_pk(FhirFilter.objects.all(), tables, "fhir_filter")
    for table in tables:
        source = table["cohort_result_source"]
        if source and source not in cohorts:
            tabular = data["output_format"] in DOWNLOADABLE_FORMATS
            raise InvalidExportRequest(_missing_cohort(source) if tabular else _unfinished_cohort(source))
        if table["fhir_filter"] and table["fhir_filter"] not in filters:
            raise InvalidExportRequest(_missing_filter(table["fhir_filter"]))
    shift_dates = data["shift_dates"] if data["shift_dates"] is not None else data["shift_date"]
    request = ExportRequest(
        output_format=data["output_format"],
        nominative=data["nominative"],
        shift_dates=bool(shift_dates),
        group_tables=data["group_tables"],
        motivation=re.sub(r"\r\n|\r|\n", " - ", data["motivation"] or ""),
        datalab=_datalab(data["datalab"]),
        tables=[
            TableRequest(
                name=table["table_name"],
                cohort_source=cohorts.get(table["cohort_result_source"]),
                fhir_filter=filters.get(table["fhir_filter"]),
                columns=table["columns"],
                pivot_merge=table["pivot_merge"],
                pivot_merge_columns=table["pivot_merge_columns"],
                pivot_merge_ids=table["pivot_merge_ids"],
            )
            for table in tables
        ],
    )
    check_export_request(user, request)
    return request


def check_export_request(user, request: ExportRequest) -> None:
    """May `user` own this export (raises InvalidExportRequest)? The rights are `user`'s, whoever owns the cohorts."""
    if request.output_format not in OutputFormat.values:
        raise InvalidExportRequest(f"Unknown output format `{request.output_format}`")
    _check_tables(request)
    if request.output_format in DOWNLOADABLE_FORMATS:
        _check_file_export(user, request)
    else:
        _check_hive_export(user, request)
    _check_email(user)
    refusal = missing_rights(
        user, output_format=request.output_format, nominative=request.nominative, cohorts=request.source_cohorts
    )
    if refusal:
        raise InvalidExportRequest(refusal)


def _check_tables(request: ExportRequest) -> None:
    for table in request.tables:
        if table.fhir_filter is not None and table.cohort_source is None:
            raise InvalidExportRequest(
                f"A FHIR filter was provided but not a cohort source to filter (table `{table.name}`)"
            )
    # Validated now rather than failing at launch (§16.1): the exporters start from the patient table.
    if not any(table.name in PATIENT_TABLES and table.cohort_source is not None for table in request.tables):
        raise InvalidExportRequest(
            f"The export needs a patient table ({' or '.join(f'`{name}`' for name in PATIENT_TABLES)}) "
            "with a source cohort"
        )


def _check_file_export(user, request: ExportRequest) -> None:
    if not request.nominative:
        raise InvalidExportRequest("Export must be in `nominative` mode")
    cohorts = request.source_cohorts
    if len(cohorts) != 1:
        raise InvalidExportRequest("All export tables must have the same source cohort")
    (cohort,) = cohorts
    if cohort.owner_id != user.pk or not _exportable(cohort):
        raise InvalidExportRequest(_missing_cohort(cohort.pk))
    _check_filters(user, request)


def _check_hive_export(user, request: ExportRequest) -> None:
    if request.datalab is None or request.datalab.deleted is not None:
        raise InvalidExportRequest("A `datalab` is required to export to a Jupyter environment")
    admin = is_export_admin(user)
    for cohort in request.source_cohorts:
        # Administrators transfer other users' cohorts; to anybody else, those do not exist.
        if cohort.owner_id != user.pk and not admin:
            raise InvalidExportRequest(_missing_cohort(cohort.pk))
        if not _exportable(cohort):
            raise InvalidExportRequest(_unfinished_cohort(cohort.pk))
    _check_filters(user, request)


def _check_filters(user, request: ExportRequest) -> None:
    """A table's filter is the caller's own, or belongs to the owner of the cohort it filters."""
    for table in request.tables:
        fhir_filter = table.fhir_filter
        if fhir_filter is None:
            continue
        if fhir_filter.deleted is not None or fhir_filter.owner_id not in (user.pk, table.cohort_source.owner_id):
            raise InvalidExportRequest(_missing_filter(fhir_filter.pk))


def _check_email(user) -> None:
    if not user.email:
        raise InvalidExportRequest("No email address is configured. Please contact an administrator")
    if not re.match(settings.EMAIL_REGEX, user.email):
        raise InvalidExportRequest(f"Invalid email address '{user.email}'. Please contact an administrator.")


def _exportable(cohort: CohortResult) -> bool:
    """A finished cohort with its patient list and its count: what the subsets and the Export API start from."""
    return (
        cohort.deleted is None
        and not cohort.is_subset
        and cohort.request_job_status == JobStatus.FINISHED
        and bool(cohort.group_id)
        and cohort.dated_measure_id is not None
    )


def _missing_cohort(cohort_pk) -> str:
    return f"Missing cohort with id {cohort_pk}"


def _unfinished_cohort(cohort_pk) -> str:
    return f"Cohort `{cohort_pk}` not found or did not finish successfully"


def _missing_filter(filter_pk) -> str:
    return f"Missing FHIR filter with id {filter_pk}"


def _by_pk(queryset, tables: list[dict], key: str) -> dict:
    """The rows the tables name under `key`, in one query."""
    pks = {table[key] for table in tables if table[key] is not None}
    return {row.pk: row for row in queryset.filter(pk__in=pks)} if pks else {}


def _datalab(pk: uuid.UUID | None) -> Datalab | None:
    if pk is None:
        return None
    datalab = one_or_none(Datalab.objects.filter(pk=pk))
    if datalab is None:
        raise InvalidExportRequest(f"Missing datalab with id {pk}")
    return datalab


def _flatten(errors, path: str = "") -> list[str]:
    """`{"export_tables": [{}, {"columns": {0: ["Not a valid string."]}}]}` ->
    `["export_tables[1].columns[0]: Not a valid string."]`: every message names its field."""
    if isinstance(errors, Mapping):
        return [message for key, value in errors.items() for message in _flatten(value, _field(path, key))]
    if isinstance(errors, list) and not all(isinstance(error, str) for error in errors):
        return [message for index, error in enumerate(errors) for message in _flatten(error, _field(path, index))]
    messages = errors if isinstance(errors, list) else [errors]
    return [f"{path}: {message}" if path else str(message) for message in messages]


def _field(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    if key == "non_field_errors":
        return path
    return f"{path}.{key}" if path else str(key)
