"""Thin Celery tasks: each calls one service. Task arguments are JSON (uuids as strings)."""

from __future__ import annotations

from celery import shared_task

from admin_cohort.periodic import once_per_tick
from cohort.services import cohorts, counts, feasibility, reconciliation, refresh_schedules


@shared_task(bind=True, name="cohort.tasks.submit_count")
def submit_count(
    self, measure_pk: str, auth: dict, stage_details: str | None, from_translated_query: bool = False
) -> None:
    counts.submit_count(
        measure_pk,
        auth=auth,
        stage_details=stage_details,
        task_id=self.request.id or "",
        from_translated_query=from_translated_query,
    )


@shared_task(bind=True, name="cohort.tasks.submit_cohort_creation")
def submit_cohort_creation(self, cohort_pk: str, auth: dict) -> None:
    cohorts.submit_cohort_creation(cohort_pk, auth=auth, task_id=self.request.id or "")


@shared_task(name="cohort.tasks.fail_stale_jobs")
@once_per_tick
def fail_stale_jobs() -> None:
    reconciliation.fail_stale_jobs()


@shared_task(bind=True, name="cohort.tasks.submit_feasibility_study")
def submit_feasibility_study(self, study_pk: str, auth: dict) -> None:
    feasibility.submit_study(study_pk, auth=auth, task_id=self.request.id or "")


@shared_task(name="cohort.tasks.run_due_refresh_schedules")
@once_per_tick
def run_due_refresh_schedules() -> None:
    refresh_schedules.run_due_schedules()
