"""Job callbacks of the QueryExecutor and the Solr ETL (spec 02 §6.4, §7.4), applied forward-only."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.conf import settings
from django.db import transaction

from cohort.job_server import InvalidJobStatusError, job_server
from cohort.models import CohortResult, DatedMeasure, JobModel, JobStatus, MeasureMode
from cohort.services import jobs, notifications
from cohort.services.errors import Refused

_logger = logging.getLogger("info")


class CallbackError(Refused):
    """A callback the job cannot accept (the job is failed with the same reason)."""


def callback_integer(payload: Mapping, key: str) -> int | None:
    value = payload.get(key)
    if value is None or value == "":
        return None
    try:
        return int(str(value).strip())
    except ValueError:
        raise CallbackError(f"Bad Request: `{key}` is not an integer: {value}") from None


def map_callback_status(model: type[JobModel], pk, payload: Mapping) -> str:
    """The backend status; an invalid one fails the job (its owner is told) and is refused."""
    try:
        return job_server().map_status(payload.get("request_job_status"))
    except InvalidJobStatusError as error:
        jobs.fail(model, pk, str(error))
        raise CallbackError(str(error)) from None


def failing_on_bad_payload(model: type[JobModel], pk, read):
    try:
        return read()
    except CallbackError as error:
        jobs.fail(model, pk, str(error))
        raise


def measure_callback(measure: DatedMeasure, payload: Mapping) -> DatedMeasure:
    """Applies the callback to the measure just read; returns it as it is after the callback (unchanged
    when it had already ended)."""
    pk = measure.pk
    status = map_callback_status(DatedMeasure, pk, payload)
    count, minimum, maximum = failing_on_bad_payload(
        DatedMeasure,
        pk,
        lambda: tuple(callback_integer(payload, key) for key in ("count", "minimum", "maximum")),
    )

    def change(measure: DatedMeasure) -> bool:
        changed = jobs.set_status(measure, status, fail_msg=str(payload.get("message") or ""))
        if status == JobStatus.FINISHED:
            measure.measure = count
            extra = payload.get("extra")
            measure.extra = extra if isinstance(extra, dict) else None
            if measure.mode == MeasureMode.GLOBAL:
                measure.measure_min, measure.measure_max = minimum, maximum
        return changed

    changed = jobs.transition_from(measure, change)
    if changed is not None:
        return changed
    _logger.info("Callback for count %s ignored: the job had already ended", pk)
    return DatedMeasure.all_objects.get(pk=pk)


def cohort_callback(pk, payload: Mapping, *, caller: str) -> CohortResult:
    status = map_callback_status(CohortResult, pk, payload) if "request_job_status" in payload else None
    group_count = failing_on_bad_payload(CohortResult, pk, lambda: callback_integer(payload, "group.count"))
    group_id = payload.get("group.id", payload.get("group_id"))
    if group_id is not None and (not isinstance(group_id, str | int) or len(str(group_id)) > 64):
        jobs.fail(CohortResult, pk, f"Bad Request: invalid group id: {group_id}")
        raise CallbackError(f"Bad Request: invalid group id: {group_id}")

    def change(cohort: CohortResult) -> bool:
        changed = False
        if status is not None:
            changed |= jobs.set_status(cohort, status, fail_msg=str(payload.get("message") or ""))
        if group_id is not None and str(group_id) != cohort.group_id:
            cohort.group_id = str(group_id)
            changed = True
        if group_count is not None and cohort.dated_measure_id:
            DatedMeasure.all_objects.filter(pk=cohort.dated_measure_id).update(
                measure=group_count, request_job_status=status or JobStatus.FINISHED
            )
            changed = True
        return changed

    with transaction.atomic():
        changed = jobs.transition(CohortResult, pk, change)
        if (
            changed is not None
            and caller == settings.SOLR_ETL_USERNAME
            and changed.request_job_status == JobStatus.FINISHED
        ):
            notifications.large_cohort_ready(changed)
    if changed is None:
        _logger.info("Callback for cohort %s ignored: the job had already ended or nothing changed", pk)
    return CohortResult.all_objects.get(pk=pk)
