"""The e-mails of exports (spec 02 §18): received, succeeded, failed (owner and administrators), files deleted.

Success and failure e-mails hang on the end of the export's job, however it ended (a step, the poller, the
timeout, a broker that could not take the launch, a failed subset), so every ending is announced once.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from admin_cohort.emails import send_email
from cohort.models import JobStatus
from cohort.services.notifications import email_after_commit
from cohort.signals import job_ended
from exports.models import Export, OutputFormat
from exports.selectors import first_source_cohort

_MONTHS = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


def _context(export: Export) -> dict:
    cohort = first_source_cohort(export)
    return {
        "cohort_id": cohort.group_id if cohort else "",
        "cohort_name": cohort.name if cohort else "",
        "selected_tables": list(export.export_tables.order_by("created_at").values_list("name", flat=True)),
        "retried": export.retried,
        "database_name": export.target_name,
        "download_url": f"{settings.FRONTEND_URL}/download/exports/{export.pk}/",
    }


def _is_hive(export: Export) -> bool:
    return export.output_format == OutputFormat.HIVE


def export_received(export: Export) -> None:
    context = _context(export)
    if _is_hive(export):
        subject = f"[Cohorte {context['cohort_id']}] Demande reçue de transfert en environnement Jupyter"
    else:
        subject = f"[Cohorte {context['cohort_id']}] Demande d'export `{context['cohort_name']}` reçue"
    template = "hive_export_received" if _is_hive(export) else "csv_export_received"
    email_after_commit(user=export.owner, subject=subject, template=template, context=context)


def _french_date(day) -> str:
    return f"{day.day:02d} {_MONTHS[day.month - 1]} {day.year}"


def _succeeded(export: Export) -> None:
    context = _context(export)
    # The rule that downloads and the cleaner follow.
    context["delete_date"] = _french_date(timezone.localtime(export.available_until))
    email_after_commit(
        user=export.owner,
        subject=f"[Cohorte {context['cohort_id']}] Export `{context['cohort_name']}` terminé",
        template="hive_export_succeeded" if _is_hive(export) else "csv_export_succeeded",
        context=context,
    )


def _failed(export: Export) -> None:
    context = {**_context(export), "error_message": export.request_job_fail_msg}
    email_after_commit(
        user=export.owner,
        subject=f"[Cohorte {context['cohort_id']}] Votre demande d'export `{context['cohort_name']}` n'a pas abouti",
        template="export_failed",
        context=context,
    )
    admins = [address for _name, address in settings.ADMINS]
    if admins:
        admin_context = {
            **context,
            "recipient_name": "administrateur",
            "export_id": str(export.pk),
            "export_date": export.created_at.isoformat(),
            "job_id": export.request_job_id,
            "job_duration": export.request_job_duration,
            "host": f"https://{settings.BACKEND_HOST}",
        }
        transaction.on_commit(
            lambda: send_email(
                subject="Demande d'export échouée",
                recipients=admins,
                template="export_failed_admins",
                context=admin_context,
            )
        )


@receiver(job_ended, sender=Export, dispatch_uid="exports_export_ended")
def _export_ended(sender, instance: Export, **kwargs) -> None:
    if instance.request_job_status == JobStatus.FINISHED:
        _succeeded(instance)
    else:
        _failed(instance)
    Export.objects.filter(pk=instance.pk).update(is_user_notified=True)


def files_deleted(export: Export) -> None:
    context = _context(export)
    email_after_commit(
        user=export.owner,
        subject=f"[Cohorte {context['cohort_id']}] Confirmation de suppression de fichiers exportés",
        template="exported_files_deleted",
        context=context,
    )
