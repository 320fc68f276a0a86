"""Feasibility studies (spec 02 §8.1): a count per perimeter over the whole hospital, delivered as a report.

The study is a job like a count: submitted by a task, called back by the QueryExecutor, moved forward only.
Its owner hears of it by e-mail: when the job server accepted it, and once when it ends (report ready, or
failed whatever the cause: refused submission, bad callback, report that could not be built, stale job).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver

from admin_cohort.lookups import one_or_none
from cohort.job_server import JobServerError
from cohort.models import FeasibilityStudy, JobStatus, RequestQuerySnapshot
from cohort.services import feasibility_report, jobs, notifications, submission
from cohort.services.callbacks import CallbackError, callback_integer, failing_on_bad_payload, map_callback_status
from cohort.services.queueing import queue_after_commit
from cohort.signals import job_ended

_logger = logging.getLogger("info")

MISSING_EXTRA = "Bad Request: Payload missing `extra` key"


@transaction.atomic
def launch_study(*, owner, snapshot: RequestQuerySnapshot, auth: dict) -> FeasibilityStudy:
    """A new study of the snapshot; its job is submitted by a task once this transaction commits."""
    study = FeasibilityStudy.objects.create(owner=owner, request_query_snapshot=snapshot)
    queue_after_commit(FeasibilityStudy, study.pk, "cohort.tasks.submit_feasibility_study", str(study.pk), auth)
    return study


def callback_path(study_pk) -> str:
    return f"/cohort/feasibility-studies/{study_pk}/"


def submit_study(study_pk, *, auth: dict, task_id: str) -> None:
    """The study task: the owner must be allowed to read the query's perimeters, as for a count; the job then
    counts over the root perimeter, per perimeter."""

    def build(study: FeasibilityStudy):
        query = study.request_query_snapshot.serialized_query
        root = submission.root_cohort_id()
        if root is None:
            raise JobServerError("The perimeter tree has no root: the feasibility study cannot run")
        return submission.job_request(
            study,
            mode="count_with_details",
            serialized_query=query,
            auth=auth,
            source_population=[root],
            callback_path=callback_path(study.pk),
        )

    # A re-delivered task finds the job id recorded and submits nothing: the owner is told only once. A job
    # that already ended (failed, or a callback faster than us) has told the owner itself.
    submitted_before = FeasibilityStudy.all_objects.filter(pk=study_pk).exclude(request_job_id="").exists()
    submission.submit(FeasibilityStudy, study_pk, build, task_id_field=None, task_id=task_id)
    study = one_or_none(FeasibilityStudy.all_objects.filter(pk=study_pk))
    if study is not None and not submitted_before and study.request_job_id and not study.is_final:
        _email_owner(study, subject="Votre demande de rapport", template="feasibility_report_requested")


def _perimeter_counts(payload: Mapping) -> dict[str, int]:
    extra = payload.get("extra")
    if not isinstance(extra, Mapping) or not extra:
        raise CallbackError(MISSING_EXTRA)
    return {str(cohort_id): callback_integer(extra, cohort_id) or 0 for cohort_id in extra}


def _report(study: FeasibilityStudy, counts: Mapping[str, int]) -> feasibility_report.Report:
    try:
        return feasibility_report.build_report(study, counts)
    except Exception as error:  # whatever breaks, the study must fail with a reason, not stay started
        _logger.exception("Feasibility report of %s could not be built", study.pk)
        message = f"Error saving feasibility report - {error}"
        jobs.fail(FeasibilityStudy, study.pk, message)
        raise CallbackError(message) from None


def study_callback(pk, payload: Mapping) -> FeasibilityStudy:
    """Returns the study as it is after the callback (unchanged when it had already ended).

    Raises CallbackError (the study then failed) for an invalid status, a finished job without per-perimeter
    counts, or a report that could not be built.
    """
    status = map_callback_status(FeasibilityStudy, pk, payload)
    total = failing_on_bad_payload(FeasibilityStudy, pk, lambda: callback_integer(payload, "count"))
    report = None
    if status == JobStatus.FINISHED:
        study = FeasibilityStudy.all_objects.select_related("request_query_snapshot__request").get(pk=pk)
        if study.is_final:
            _logger.info("Callback for feasibility study %s ignored: the job had already ended", pk)
            return study
        counts = failing_on_bad_payload(FeasibilityStudy, pk, lambda: _perimeter_counts(payload))
        report = _report(study, counts)

    def change(study: FeasibilityStudy) -> bool:
        changed = jobs.set_status(study, status, fail_msg=str(payload.get("message") or ""))
        if report is not None:
            study.total_count = total or 0
            study.report_json_content, study.report_file = report.json_zip, report.html_zip
        return changed

    if jobs.transition(FeasibilityStudy, pk, change) is None:
        _logger.info("Callback for feasibility study %s ignored: the job had already ended", pk)
    return FeasibilityStudy.all_objects.get(pk=pk)


def download_url(study: FeasibilityStudy) -> str:
    return f"{settings.FRONTEND_URL}/download/feasibility-studies/{study.pk}/"


def _email_owner(study: FeasibilityStudy, *, subject: str, template: str, **context) -> None:
    notifications.email_after_commit(
        user=study.owner,
        subject=subject,
        template=template,
        context={"request_name": study.request_query_snapshot.request.name, **context},
    )


@receiver(job_ended, sender=FeasibilityStudy, dispatch_uid="cohort_feasibility_study_ended")
def tell_owner_of_the_end(sender, instance: FeasibilityStudy, **kwargs) -> None:
    if instance.request_job_status == JobStatus.FINISHED and instance.report_file:
        _email_owner(
            instance,
            subject="Votre rapport est prêt",
            template="feasibility_report_ready",
            download_url=download_url(instance),
        )
    else:
        _email_owner(instance, subject="Votre demande de rapport a échoué", template="feasibility_report_error")
