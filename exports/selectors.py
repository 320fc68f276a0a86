"""Reads of the exports app, already restricted to what the caller may see (spec 02 §15, §21.5).

Export administrators (datalab readers and managers, full admins) build Jupyter transfers on behalf of
users: they see every export and may list every user's cohorts and FHIR filters. Anybody else sees their
own rows only, whatever the filters they send.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from admin_cohort.plugins import rights
from admin_cohort.rights import FULL_ADMIN, is_authenticated
from cohort.models import CohortResult, FhirFilter, JobStatus
from exports.models import Export, ExportResultStat, ExportTable

READ_DATALABS = "right_read_datalabs"
MANAGE_DATALABS = "right_manage_datalabs"
EXPORT_ADMIN_RIGHTS = (FULL_ADMIN, MANAGE_DATALABS, READ_DATALABS)


def is_export_admin(user) -> bool:
    return is_authenticated(user) and rights().holds_any_right(user, EXPORT_ADMIN_RIGHTS)


def is_export_pipeline(user) -> bool:
    """The machine user of the export pipeline, which writes the statistics of the exports it ran."""
    return is_authenticated(user) and user.username == settings.EXPORT_PIPELINE_USERNAME


def _own_unless_admin(rows: QuerySet, user, own_only: bool) -> QuerySet:
    """Every row for export administrators, unless `own_only` (what is for the owner alone, e.g. a download)."""
    return rows if is_export_admin(user) and not own_only else rows.filter(owner=user)


def visible_exports(user, *, own_only: bool = False) -> QuerySet[Export]:
    return _own_unless_admin(Export.objects.all(), user, own_only)


def source_tables(export) -> QuerySet[ExportTable]:
    """The tables of `export` (an export, or an OuterRef to one) that have a source cohort, in creation order: the
    first one's cohort is the export's cohort in lists, e-mails and archive names (spec 02 §15.2, §17.4, §18)."""
    return ExportTable.objects.filter(export=export, cohort_result_source__isnull=False).order_by("created_at", "pk")


def first_source_cohort(export: Export) -> CohortResult | None:
    table = source_tables(export).select_related("cohort_result_source").first()
    return table.cohort_result_source if table else None


def with_first_source_cohort(exports: QuerySet[Export]) -> QuerySet[Export]:
    """`cohort_id`, `cohort_name` and `patients_count` of the first source table, as columns of the export query:
    a page costs the same whatever its size, and these columns can be searched and sorted on."""
    first = source_tables(OuterRef("pk"))
    return exports.annotate(
        cohort_id=Subquery(first.values("cohort_result_source__group_id")[:1]),
        cohort_name=Subquery(first.values("cohort_result_source__name")[:1]),
        patients_count=Subquery(first.values("cohort_result_source__dated_measure__measure")[:1]),
    )


def exports_to_show(exports: QuerySet[Export]) -> QuerySet[Export]:
    """With everything both representations read, in a bounded number of queries."""
    tables = Prefetch("export_tables", queryset=ExportTable.objects.order_by("created_at", "pk"))
    return with_first_source_cohort(exports).select_related("owner", "datalab").prefetch_related(tables)


def exportable_cohorts(user, *, own_only: bool = False) -> QuerySet[CohortResult]:
    """Finished cohorts (not the technical subsets of exports): every user's for export administrators."""
    cohorts = CohortResult.objects.filter(is_subset=False, request_job_status=JobStatus.FINISHED)
    return _own_unless_admin(cohorts, user, own_only)


def exportable_fhir_filters(user, *, own_only: bool = False) -> QuerySet[FhirFilter]:
    """Saved filters (not those generated for exports): every user's for export administrators."""
    return _own_unless_admin(FhirFilter.objects.filter(auto_generated=False), user, own_only)


def visible_export_stats(user) -> QuerySet[ExportResultStat]:
    stats = ExportResultStat.objects.select_related("export")
    if is_export_pipeline(user) or is_export_admin(user):
        return stats
    return stats.filter(export__owner=user)
