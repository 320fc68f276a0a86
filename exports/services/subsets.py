"""Exports waiting for their cohort subsets (spec 02 §16.5): launched once all finished, failed if one fails."""

from __future__ import annotations

from django.dispatch import receiver

from cohort.models import CohortResult, JobStatus
from cohort.signals import job_ended
from exports.models import Export
from exports.services import workflow

SUBSET_FAILED = "One or multiple cohort subsets has failed"


def subset_ended(subset: CohortResult) -> None:
    """Runs in the transaction that ended the subset. The export's row is locked first, so that when two
    subsets end at once the second to take the lock sees the first one's end and launches the export."""
    export_ids = Export.objects.filter(export_tables__cohort_result_subset=subset).values_list("pk", flat=True)
    for export in Export.objects.select_for_update().filter(pk__in=list(export_ids), request_job_status=JobStatus.NEW):
        statuses = set(
            CohortResult.all_objects.filter(subset_export_tables__export=export).values_list(
                "request_job_status", flat=True
            )
        )
        if statuses - {JobStatus.FINISHED}:
            if statuses & {JobStatus.FAILED, JobStatus.CANCELLED, JobStatus.UNKNOWN}:
                workflow.fail(export.pk, SUBSET_FAILED)
            continue
        workflow.launch_after_commit(export)


@receiver(job_ended, sender=CohortResult, dispatch_uid="exports_subset_ended")
def _subset_ended(sender, instance: CohortResult, **kwargs) -> None:
    if instance.is_subset:
        subset_ended(instance)
