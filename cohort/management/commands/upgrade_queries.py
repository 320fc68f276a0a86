from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError, CommandParser

from cohort.query_versions import LATEST_VERSION
from cohort.services.query_upgrades import TableReport, upgrade_snapshots


class Command(BaseCommand):
    help = (
        f"Upgrades every stored query snapshot (and, with --include-filters, every saved FHIR filter) to the "
        f"query format {LATEST_VERSION}. Code-system URLs come from the setting QUERY_UPGRADE_CODE_SYSTEMS; a query "
        f"needing one that is not configured is left unchanged and reported. Previous texts are kept in the patch "
        f"history. Exits with 1 if a query could not be upgraded."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="report what would change, save nothing")
        parser.add_argument("--include-filters", action="store_true", help="upgrade the saved FHIR filters too")

    def handle(self, *args, dry_run: bool, include_filters: bool, **options) -> None:
        report = upgrade_snapshots(dry_run=dry_run, include_filters=include_filters)
        self._write("Query snapshots", report.snapshots)
        if report.filters is not None:
            self._write("FHIR filters", report.filters)
        if dry_run:
            self.stdout.write("Dry run: nothing was saved.")
        if report.has_failures:
            raise CommandError("Some queries could not be upgraded, they were left unchanged.", returncode=1)

    def _write(self, title: str, table: TableReport) -> None:
        self.stdout.write(
            f"{title}: {len(table.upgraded)} upgraded, {table.already_current} already current, "
            f"{len(table.skipped)} skipped, {len(table.failed)} failed"
        )
        for issue in table.skipped:
            self.stdout.write(f"  skipped {issue.id}: {issue.reason}")
        for issue in table.failed:
            self.stderr.write(self.style.ERROR(f"  failed {issue.id}: {issue.reason}"))
