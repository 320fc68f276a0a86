"""The parameter document of an export, as the Export API reads it (spec 02 §17.1 to §17.3, spec 03 §6.1).

Pure: built from the export and its tables as they are in memory, without I/O, so that the exact YAML text can
be checked against the specification's examples.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from exports.engine import ExportStepError
from exports.models import DOWNLOADABLE_FORMATS, Export, ExportTable, OutputFormat
from exports.services.export_requests import PATIENT_TABLES

# The first table of every export, whatever the client called it (spec 03 §6.1).
EXPORT_API_PATIENT_TABLE = "person"


def export_parameters(
    export: Export, tables: Sequence[ExportTable], *, disable_terminology: bool | str
) -> dict[str, Any]:
    """Keys in the order of the specification; `tables` in creation order. Raises ExportStepError when the
    export cannot be described (no patient table, a cohort without patient list, no datalab to pseudonymise)."""
    parameters = _format_parameters(export, tables)
    parameters["overwrite"] = True
    parameters["tablesToExport"] = _tables_to_export(tables)
    parameters["noDateShift"] = export.nominative or not export.shift_dates
    parameters["disableTerminology"] = disable_terminology
    if not export.nominative:
        if export.datalab is None:
            raise ExportStepError("A pseudonymised export needs a datalab (its name is the pseudonymisation key)")
        parameters["pseudo"] = export.datalab.name
    return parameters


def parameters_yaml(parameters: dict[str, Any]) -> str:
    # Block style in insertion order, like the Export API's examples; no line folding of long values.
    return yaml.safe_dump(parameters, sort_keys=False, default_flow_style=False, allow_unicode=True, width=float("inf"))


def target_path(export: Export) -> str:
    """`<target_location>/<target_name>`, the archive's path without `.zip` or the Hive database's without `.db`;
    raises ExportStepError when the export has no target (a row written by hand, an old relaunch)."""
    if not export.target_full_path:
        raise ExportStepError("The export has no target (target_name and target_location must be set)")
    return export.target_full_path


def _format_parameters(export: Export, tables: Sequence[ExportTable]) -> dict[str, Any]:
    path = target_path(export)
    if export.output_format == OutputFormat.HIVE:
        return {"output": {"type": "hive", "databaseName": export.target_name}}
    if export.output_format not in DOWNLOADABLE_FORMATS:
        raise ExportStepError(f"Unknown output format `{export.output_format}`")
    parameters: dict[str, Any] = {
        "joinOnPrimaryKey": export.group_tables,
        "output": {"type": str(export.output_format), "filePath": f"{path}.zip"},
    }
    pivot_merge = _pivot_merge(tables)
    if pivot_merge:
        parameters["pivotMerge"] = pivot_merge
    return parameters


def _pivot_merge(tables: Sequence[ExportTable]) -> list:
    """Detailed options when any table has some, else the names of the tables to pivot (spec 02 §17.2)."""
    detailed = []
    for table in tables:
        if not (table.pivot_merge_columns or table.pivot_merge_ids):
            continue
        entry: dict[str, Any] = {"tableName": table.name}
        if table.pivot_merge_columns:
            entry["pivotedColumnsToKeep"] = list(table.pivot_merge_columns)
        if table.pivot_merge_ids:
            entry["idsToMerge"] = list(table.pivot_merge_ids)
        detailed.append(entry)
    return detailed or [table.name for table in tables if table.pivot_merge]


def _tables_to_export(tables: Sequence[ExportTable]) -> list[dict[str, Any]]:
    patient_table = next((table for table in tables if table.name in PATIENT_TABLES), None)
    if patient_table is None:
        raise ExportStepError(f"The export has no patient table (one of {', '.join(PATIENT_TABLES)})")
    cohort = patient_table.cohort_result_subset or patient_table.cohort_result_source
    if cohort is None:
        raise ExportStepError(f"The `{patient_table.name}` table has no source cohort")
    entries = [
        {
            "tableName": EXPORT_API_PATIENT_TABLE,
            "cohortId": _group_id(cohort, patient_table),
            "relation": True,
            **_columns(patient_table),
        }
    ]
    for table in tables:
        if table is patient_table:
            continue
        entry: dict[str, Any] = {"tableName": table.name, "relation": True}
        if table.cohort_result_subset is not None:
            entry["cohortId"] = _group_id(table.cohort_result_subset, table)
        entries.append({**entry, **_columns(table)})
    return entries


def _group_id(cohort, table: ExportTable) -> str:
    if not cohort.group_id:
        raise ExportStepError(f"The cohort of the `{table.name}` table has no patient list (group id) yet")
    return cohort.group_id


def _columns(table: ExportTable) -> dict[str, list[str]]:
    return {"columnsToExport": list(table.columns)} if table.columns else {}
