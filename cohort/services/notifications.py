"""What the owner of a job hears: websocket `job_status` messages (spec 02 §12) and cohort e-mails (§13)."""

from __future__ import annotations

from django.conf import settings
from django.db import transaction

from admin_cohort.emails import send_email
from admin_cohort.services.ws_events import push_to_user


def _count_message(measure) -> dict | None:
    if measure.mode == "Global":  # global estimates are shown through their cohort
        return None
    return {
        "type": "job_status",
        "status": measure.request_job_status,
        "uuid": str(measure.uuid),
        "job_name": "count",
        "extra_info": {
            "request_job_status": measure.request_job_status,
            "request_job_fail_msg": measure.request_job_fail_msg,
            "measure": measure.measure,
            "snapshot_id": str(measure.request_query_snapshot_id),
            "extra": measure.extra,
        },
    }


def _cohort_message(cohort) -> dict:
    from cohort.models import DatedMeasure

    measures = {
        m.pk: m
        for m in DatedMeasure.all_objects.filter(pk__in=[cohort.dated_measure_id, cohort.dated_measure_global_id])
    }
    count = measures.get(cohort.dated_measure_id)
    extra_info = {
        "request_job_status": cohort.request_job_status,
        "group_id": cohort.group_id,
        "result_size": count.measure if count else None,
        "request_job_fail_msg": cohort.request_job_fail_msg,
    }
    estimate = measures.get(cohort.dated_measure_global_id)
    if estimate is not None:
        extra_info["global"] = {"measure_min": estimate.measure_min, "measure_max": estimate.measure_max}
    return {
        "type": "job_status",
        "status": cohort.request_job_status,
        "uuid": str(cohort.uuid),
        "job_name": "create",
        "extra_info": extra_info,
    }


def job_status_changed(job) -> None:
    """Pushed after commit to the owner's sockets; feasibility studies have no message (they e-mail)."""
    from cohort.models import FINAL_STATUSES, CohortResult, DatedMeasure

    if isinstance(job, DatedMeasure):
        message = _count_message(job)
    elif isinstance(job, CohortResult):
        message = _cohort_message(job)
    else:
        message = None
    if message is not None:
        push_to_user(job.owner_id, message, subject=str(job.uuid), last=job.request_job_status in FINAL_STATUSES)


def email_after_commit(*, user, subject: str, template: str, context: dict) -> None:
    """One notification to `user`, sent once the change that triggers it is committed; users without an
    address are skipped (sending never fails the operation)."""
    if not user.email:
        return
    full_context = {
        "recipient_name": f"{user.firstname or ''} {user.lastname or ''}".strip() or user.username,
        "contact_email_address": settings.EMAIL_SUPPORT_CONTACT,
        **context,
    }
    transaction.on_commit(
        lambda: send_email(subject=subject, recipients=[user.email], template=template, context=full_context)
    )


def large_cohort_ready(cohort) -> None:
    email_after_commit(
        user=cohort.owner,
        subject="Votre cohorte est prête",
        template="large_cohort_finished",
        context={
            "cohort_name": cohort.name,
            "cohort_url": f"{settings.FRONTEND_URL}/cohort?groupId={cohort.group_id}",
        },
    )
