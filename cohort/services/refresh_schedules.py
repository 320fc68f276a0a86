"""Refresh schedules (spec 02 §9): a snapshot re-counted at a time of day (UTC), daily, every other day or weekly.

Each schedule stores when it is next due (`next_run_at`). A per-minute task claims the due ones with a
conditional UPDATE, so however many beats and workers run, a due run is launched once. The query is
translated with the owner's credentials when the schedule is created, because the runs have none; each run
is a new count submitting that translation. Only the schedule's own counts update its bookkeeping.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from django.db import IntegrityError, transaction
from django.dispatch import receiver
from django.utils import timezone

from cohort.job_server import JobServerError, job_server
from cohort.models import DatedMeasure, JobStatus, RefreshFrequency, RequestQuerySnapshot, RequestRefreshSchedule
from cohort.services import counts, notifications, submission
from cohort.services.errors import Refused
from cohort.signals import job_ended

_logger = logging.getLogger("info")

PERIODS = {
    RefreshFrequency.DAILY: timedelta(days=1),
    RefreshFrequency.EVERY_OTHER_DAY: timedelta(days=2),
    RefreshFrequency.WEEKLY: timedelta(days=7),
}
RECURRENCE_FIELDS = ("refresh_time", "refresh_frequency")


def first_run(refresh_time: time, *, now: datetime) -> datetime:
    """The next occurrence of `refresh_time` (UTC) strictly after `now`."""
    now = now.astimezone(UTC)
    today = datetime.combine(now.date(), refresh_time.replace(tzinfo=None), tzinfo=UTC)
    return today if today > now else today + timedelta(days=1)


def following_run(scheduled: datetime, frequency: str, *, now: datetime) -> datetime:
    """The run after the one due at `scheduled`, one period later; periods missed while nothing ran (workers
    down) are skipped rather than caught up, so the cadence keeps its time of day and its weekday."""
    period = PERIODS[frequency]
    missed = max((now - scheduled) // period, 0)
    return scheduled + period * (missed + 1)


def create_schedule(
    *,
    owner,
    request_snapshot: RequestQuerySnapshot,
    refresh_time: time,
    refresh_frequency: str = RefreshFrequency.WEEKLY,
    notify_owner: bool = False,
    auth: dict,
    now: datetime | None = None,
) -> RequestRefreshSchedule:
    """Translates the snapshot's query now, with the caller's credentials (a remote call, made before any
    write), then stores the schedule and the translation. Raises Refused with the reason."""
    query = request_snapshot.serialized_query
    schedule = RequestRefreshSchedule(
        owner=owner,
        request_snapshot=request_snapshot,
        refresh_time=refresh_time,
        refresh_frequency=refresh_frequency,
        notify_owner=notify_owner,
        next_run_at=first_run(refresh_time, now=now or timezone.now()),
    )
    try:
        translated = job_server().translate(
            submission.job_request(schedule, mode="count", serialized_query=query, auth=auth)
        )
    except JobServerError as error:
        raise Refused(str(error) or error.__class__.__name__) from None
    try:
        with transaction.atomic():
            schedule.save()
            RequestQuerySnapshot.all_objects.filter(pk=request_snapshot.pk).update(translated_query=translated)
    except IntegrityError:  # a concurrent creation won the one-schedule-per-snapshot constraint
        raise Refused("This snapshot already has a refresh schedule") from None
    return schedule


def update_schedule(
    schedule: RequestRefreshSchedule, *, changes: dict, now: datetime | None = None
) -> RequestRefreshSchedule:
    """Applies `changes`; a new time or frequency starts the cadence again from the next occurrence."""
    recurrence_changed = any(
        field in changes and changes[field] != getattr(schedule, field) for field in RECURRENCE_FIELDS
    )
    for field, value in changes.items():
        setattr(schedule, field, value)
    fields = [*changes, "modified_at"]
    if recurrence_changed:
        schedule.next_run_at = first_run(schedule.refresh_time, now=now or timezone.now())
        fields.append("next_run_at")
    schedule.save(update_fields=fields)
    return schedule


def run_due_schedules(*, now: datetime | None = None) -> list[DatedMeasure]:
    """Launches a new count for every due schedule, once each; returns the counts launched."""
    now = now or timezone.now()
    due = RequestRefreshSchedule.objects.filter(next_run_at__lte=now).values_list(
        "pk", "next_run_at", "refresh_frequency"
    )
    launched = []
    for pk, scheduled, frequency in due:
        with transaction.atomic():
            # Whoever moves next_run_at forward first runs it; the others update nothing and skip it.
            claimed = RequestRefreshSchedule.objects.filter(pk=pk, next_run_at=scheduled).update(
                next_run_at=following_run(scheduled, frequency, now=now)
            )
            if claimed:
                launched.append(_launch_run(pk))
    return launched


def _launch_run(pk) -> DatedMeasure:
    schedule = RequestRefreshSchedule.objects.select_related("owner", "request_snapshot").get(pk=pk)
    measure = counts.launch_count(
        owner=schedule.owner, snapshot=schedule.request_snapshot, auth={}, from_translated_query=True
    )
    RequestRefreshSchedule.objects.filter(pk=pk).update(last_dated_measure=measure)
    _logger.info("Refresh schedule %s: count %s launched", pk, measure.pk)
    return measure


@receiver(job_ended, sender=DatedMeasure, dispatch_uid="cohort_refresh_schedule_bookkeeping")
def record_refresh(sender, instance: DatedMeasure, **kwargs) -> None:
    """The end of a schedule's latest run (never of another count of the snapshot) is its last refresh.

    Every count that ends comes here, and very few are a schedule's run: only those are looked for in the
    schedules; the schedule is read only to e-mail its owner.
    """
    if not instance.scheduled_refresh:
        return
    succeeded = instance.request_job_status == JobStatus.FINISHED
    recorded = RequestRefreshSchedule.objects.filter(last_dated_measure_id=instance.pk).update(
        last_refresh=timezone.now(),
        last_refresh_succeeded=succeeded,
        last_refresh_count=instance.measure if succeeded else None,
        last_refresh_error_msg=None
        if succeeded
        else instance.request_job_fail_msg or f"The count ended with the status `{instance.request_job_status}`",
    )
    if not (recorded and succeeded):
        return
    notified = RequestRefreshSchedule.objects.filter(last_dated_measure_id=instance.pk, notify_owner=True)
    for schedule in notified.select_related("owner", "request_snapshot__request"):
        snapshot = schedule.request_snapshot
        notifications.email_after_commit(
            user=schedule.owner,
            subject="Votre requête a été bien rafraichie",
            template="count_request_refreshed",
            context={"request_name": f"{snapshot.request.name} (version {snapshot.version})"},
        )
