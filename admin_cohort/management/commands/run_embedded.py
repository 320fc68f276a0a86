from __future__ import annotations

from django.core.management.base import BaseCommand, CommandParser

from admin_cohort import embedded


class Command(BaseCommand):
    help = (
        "Embedded mode in one process: applies migrations, loads the demo data, then serves the API and the "
        "websocket with an in-process Celery worker and beat (no PostgreSQL, Redis or separate worker)."
    )
    requires_system_checks: list = []  # run by embedded.run once the database is migrated

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
        parser.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")

    def handle(self, *args, host: str, port: int, **options) -> None:
        embedded.run(host=host, port=port, stdout=self.stdout)
