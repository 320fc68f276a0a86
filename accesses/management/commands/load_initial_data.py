from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser

from accesses.services.initial_data import FULL_ADMIN_ROLE, InitialDataError, load_initial_data


class Command(BaseCommand):
    help = (
        "Loads the perimeter tree from a ';'-separated CSV file, then sets up the admin user (ADMIN_* variables, "
        f"'{FULL_ADMIN_ROLE}' role on the root perimeter) and the machine users. Safe to run again."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--perimeters-conf", required=True, type=Path, help="path of the perimeters CSV file")

    def handle(self, *args, perimeters_conf: Path, **options) -> None:
        if not perimeters_conf.is_file():
            raise CommandError(f"{perimeters_conf}: no such file")
        try:
            report = load_initial_data(perimeters_csv=perimeters_conf)
        except InitialDataError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(report.summary())
        if report.admin_granted:
            self.stdout.write(
                self.style.SUCCESS(f"Successfully added user '{report.admin_username}' with '{FULL_ADMIN_ROLE}' role")
            )
        for warning in report.warnings:
            self.stderr.write(self.style.WARNING(f"Warning: {warning}"))
        if not report.changed:
            self.stdout.write("Nothing changed.")
