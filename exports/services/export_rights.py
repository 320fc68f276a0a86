"""The rights an export needs (spec 02 §16.2.1, §16.3).

Export rights are global (held anywhere, they apply everywhere); reading rights are held on perimeters and
cover their descendants. Unlike the reference, reading is required on EVERY perimeter the source cohorts
were built on, and cohorts on no known perimeter cannot be exported (§21.4).
"""

from __future__ import annotations

from collections.abc import Iterable

from accesses import catalogue
from accesses.selectors import lineages_by_cohort_id
from accesses.services.user_rights import UserRights
from cohort.models import CohortResult
from cohort.services.perimeter_rights import covered_cohort_ids
from exports.models import DOWNLOADABLE_FORMATS

CSV_XLSX_NOMINATIVE = "right_export_csv_xlsx_nominative"
JUPYTER_NOMINATIVE = "right_export_jupyter_nominative"
JUPYTER_PSEUDONYMIZED = "right_export_jupyter_pseudonymized"

# By (CSV/XLSX, nominative): the permission layer's refusals, worded as the web apps show them.
_REFUSALS = {
    (True, True): "Vous n'avez pas le droit d'export CSV/Excel nominatif",
    (True, False): "Vous n'avez pas le droit d'export CSV/Excel pseudonymisé",
    (False, True): "Vous n'avez pas le droit d'export Jupyter nominatif",
    (False, False): "Vous n'avez pas le droit d'export Jupyter pseudonymisé",
}


def export_right(output_format: str, nominative: bool) -> str:
    if output_format in DOWNLOADABLE_FORMATS:
        return CSV_XLSX_NOMINATIVE
    return JUPYTER_NOMINATIVE if nominative else JUPYTER_PSEUDONYMIZED


def export_refusal(user, output_format: str, nominative: bool) -> str | None:
    """The permission pre-check (§16.2.1): why this kind of export is refused to `user`, or None.

    No right allows a pseudonymised CSV/XLSX export.
    """
    tabular = output_format in DOWNLOADABLE_FORMATS
    if (nominative or not tabular) and UserRights.of(user).holds(export_right(output_format, nominative)):
        return None
    return _REFUSALS[(tabular, nominative)]


def missing_rights(user, *, output_format: str, nominative: bool, cohorts: Iterable[CohortResult]) -> str | None:
    """Why `user` may not export these cohorts in this form (§16.3), or None.

    The rights are those of `user` even when the cohorts belong to somebody else (an administrator's transfer).
    """
    cohort_pks = [cohort.pk for cohort in cohorts]
    perimeters_ids = CohortResult.all_objects.filter(pk__in=cohort_pks).values_list(
        "request_query_snapshot__perimeters_ids", flat=True
    )
    cohort_ids = {str(cohort_id) for ids in perimeters_ids for cohort_id in ids or ()}
    lineages = lineages_by_cohort_id(cohort_ids)
    if not lineages:
        return "The source cohorts are built on no known perimeter"
    unknown = sorted(cohort_ids - lineages.keys())
    if unknown:
        return f"The source cohorts are built on unknown perimeters: [{', '.join(unknown)}]."

    user_rights = UserRights.of(user)
    perimeter_ids = {lineage.perimeter_id for lineage in lineages.values()}
    read_right = catalogue.READ_NOMINATIVE if nominative else catalogue.READ_PSEUDONYMIZED
    readable = covered_cohort_ids(lineages, user_rights.perimeters_with(read_right))
    if readable != lineages.keys():
        return _missing(read_right, {lineages[cohort_id].perimeter_id for cohort_id in lineages.keys() - readable})
    needed = export_right(output_format, nominative)
    if not user_rights.holds(needed):
        return _missing(needed, perimeter_ids)
    return None


def _missing(right: str, perimeter_ids: set[int]) -> str:
    return f"The user is missing `{right}` on the following perimeters: {sorted(perimeter_ids)}."
