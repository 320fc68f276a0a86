"""Reactions to the accesses app: perimeter cohort-id changes and cohort ids in reading checks."""

from __future__ import annotations

from django.dispatch import receiver

from accesses.services.reading_rights import register_cohort_perimeters_resolver
from accesses.signals import perimeter_cohort_ids_changed
from cohort.services import feasibility, perimeter_renames, refresh_schedules  # noqa: F401 (their job_ended receivers)


@receiver(perimeter_cohort_ids_changed, dispatch_uid="cohort_rewrite_perimeter_ids")
def _rewrite_saved_queries(sender, changes: dict[str, str], **kwargs) -> None:
    perimeter_renames.rewrite_snapshots(changes)


register_cohort_perimeters_resolver(perimeter_renames.perimeters_of_cohorts)
