"""Bulk upgrade of the stored queries to the latest format version, and its undo (spec 02 §5.4).

Code-system URLs come from the setting QUERY_UPGRADE_CODE_SYSTEMS unless given; a query that needs a system
which is not configured is reported as failed and left unchanged. Each row is saved through its model's
save(), which records the previous text in the patch history, so any upgrade can be undone with
`restore_snapshot_patch`. Rows are saved one by one (no run-wide transaction): a row that cannot be saved is
reported and does not undo the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from django.db import DatabaseError, transaction

from cohort.models import FhirFilter, RequestQuerySnapshot
from cohort.query_versions import (
    NO_TERMINOLOGY,
    Outcome,
    Terminology,
    UpgradeResult,
    upgrade_fhir_filter,
    upgrade_serialized_query,
)
from cohort.query_versions.rows import in_pages
from cohort.query_versions.walker import RESOURCE_FILTER_KEY


@dataclass(frozen=True)
class RowIssue:
    id: str
    reason: str


@dataclass
class TableReport:
    upgraded: list[str] = field(default_factory=list)
    already_current: int = 0
    skipped: list[RowIssue] = field(default_factory=list)
    failed: list[RowIssue] = field(default_factory=list)

    def count(self, row_id: str, result: UpgradeResult) -> None:
        if result.outcome is Outcome.UPGRADED:
            self.upgraded.append(row_id)
        elif result.outcome is Outcome.CURRENT:
            self.already_current += 1
        elif result.outcome is Outcome.SKIPPED:
            self.skipped.append(RowIssue(row_id, result.reason))
        else:
            self.failed.append(RowIssue(row_id, result.reason))

    def save_failed(self, row_id: str, error: DatabaseError) -> None:
        self.upgraded.remove(row_id)
        self.failed.append(RowIssue(row_id, f"could not be saved: {error}"))


@dataclass
class UpgradeReport:
    dry_run: bool
    snapshots: TableReport = field(default_factory=TableReport)
    filters: TableReport | None = None  # None when the FHIR filters were not included

    @property
    def has_failures(self) -> bool:
        return bool(self.snapshots.failed or (self.filters and self.filters.failed))


def upgrade_snapshots(
    *,
    dry_run: bool = False,
    include_filters: bool = False,
    terminology: Terminology = NO_TERMINOLOGY,
    code_systems: Mapping[str, str] | None = None,
) -> UpgradeReport:
    """Upgrades every snapshot (soft-deleted ones included: they can be restored) and, if asked, every FHIR filter."""
    report = UpgradeReport(dry_run=dry_run)
    snapshots = RequestQuerySnapshot.all_objects.only("pk", "serialized_query")
    for snapshot in in_pages(snapshots):
        result = upgrade_serialized_query(snapshot.serialized_query, terminology=terminology, code_systems=code_systems)
        report.snapshots.count(str(snapshot.pk), result)
        if result.outcome is Outcome.UPGRADED and not dry_run:
            snapshot.serialized_query = result.text
            _save(report.snapshots, snapshot, ["serialized_query"])
    if include_filters:
        report.filters = _upgrade_filters(dry_run=dry_run, terminology=terminology, code_systems=code_systems)
    return report


def _upgrade_filters(*, dry_run: bool, terminology: Terminology, code_systems: Mapping[str, str] | None) -> TableReport:
    report = TableReport()
    filters = FhirFilter.all_objects.only("pk", "filter", "fhir_resource", "query_version")
    for fhir_filter in in_pages(filters):
        result = upgrade_fhir_filter(
            resource_type=fhir_filter.fhir_resource,
            filter_text=fhir_filter.filter,
            version=fhir_filter.query_version,
            terminology=terminology,
            code_systems=code_systems,
        )
        report.count(str(fhir_filter.pk), result)
        if result.outcome is Outcome.UPGRADED and not dry_run:
            fhir_filter.filter = result.query[RESOURCE_FILTER_KEY]
            fhir_filter.fhir_resource = result.query["resourceType"]
            fhir_filter.query_version = result.query["version"]
            _save(report, fhir_filter, ["filter", "fhir_resource", "query_version"])
    return report


def _save(report: TableReport, row: RequestQuerySnapshot | FhirFilter, fields: list[str]) -> None:
    # modified_at is left alone: a format upgrade is not an edit by the owner. The models' save() runs in its
    # own atomic block, so a failed save is rolled back before being reported.
    try:
        row.save(update_fields=fields)
    except DatabaseError as error:  # e.g. a renamed resource colliding with a filter of the same name
        report.save_failed(str(row.pk), error)


@transaction.atomic
def restore_snapshot_patch(snapshot: RequestQuerySnapshot, patch_version: int) -> RequestQuerySnapshot:
    """Puts back the query text kept in one patch; the replaced text becomes a new patch in its turn.

    Raises RequestQuerySnapshotPatch.DoesNotExist if the snapshot has no such patch.
    """
    patch = snapshot.patches.get(patch_version=patch_version)
    snapshot.serialized_query = patch.serialized_query
    snapshot.save(update_fields=["serialized_query"])
    return snapshot
