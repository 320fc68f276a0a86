"""Sends the OMOP source models to their own database alias, and keeps every migration away from it."""

from __future__ import annotations

SOURCE_DATABASE = "accesses_perimeters"
APP_LABEL = "accesses_perimeters"


class PerimetersSourceRouter:
    def db_for_read(self, model, **hints) -> str | None:
        return SOURCE_DATABASE if model._meta.app_label == APP_LABEL else None

    def db_for_write(self, model, **hints) -> str | None:
        # The sync never writes there; test fixtures fill the source through these models.
        return SOURCE_DATABASE if model._meta.app_label == APP_LABEL else None

    def allow_migrate(self, db: str, app_label: str, **hints) -> bool | None:
        # The source database belongs to the data warehouse: none of our tables go there, and its tables
        # are never created in ours.
        if db == SOURCE_DATABASE or app_label == APP_LABEL:
            return False
        return None
