"""Rights of a user on the perimeters a cohort query reads (spec 02 §11), computed with the closure table.

A right held on a perimeter covers its descendants, so a perimeter is covered when the right is held on it
or on one of its ancestors. A query or cohort is covered when every one of its perimeters is; one without
any known perimeter is covered by nothing (the reference's vacuous "all rights" is a hole, §21.9).
"""

from __future__ import annotations

from dataclasses import dataclass

from accesses import catalogue
from accesses.selectors import Lineage, lineages_by_cohort_id
from accesses.services.user_rights import UserRights

COHORT_RIGHTS = {
    "read_patient_nomi": (catalogue.READ_NOMINATIVE,),
    "read_patient_pseudo": (catalogue.READ_PSEUDONYMIZED, catalogue.READ_NOMINATIVE),
    "export_csv_xlsx_nomi": ("right_export_csv_xlsx_nominative",),
    "export_jupyter_nomi": ("right_export_jupyter_nominative",),
    "export_jupyter_pseudo": ("right_export_jupyter_pseudonymized", "right_export_jupyter_nominative"),
}


@dataclass(frozen=True)
class ReadingCheck:
    allowed: bool
    pseudonymised: bool  # nominative reading is not held on every perimeter
    missing: list[str]  # perimeter cohort ids the user may not read (or that are not perimeters)


def covered_cohort_ids(lineages: dict[str, Lineage], granting: set[int]) -> set[str]:
    """The cohort ids of `lineages` whose perimeter is, or descends from, a `granting` perimeter."""
    return {cohort_id for cohort_id, lineage in lineages.items() if lineage.ids & granting}


def check_reading(user, cohort_ids: list[str]) -> ReadingCheck:
    """Whether `user` may count or create a cohort on the perimeters `cohort_ids` (spec 02 §11.3)."""
    rights = UserRights.of(user)
    lineages = lineages_by_cohort_id(cohort_ids)
    readable = covered_cohort_ids(lineages, rights.perimeters_with(*catalogue.READING))
    nominative = covered_cohort_ids(lineages, rights.perimeters_with(catalogue.READ_NOMINATIVE))
    missing = [str(c) for c in cohort_ids if str(c) not in readable]
    return ReadingCheck(
        allowed=bool(cohort_ids) and not missing,
        pseudonymised=not lineages or len(nominative) < len(lineages),
        missing=missing,
    )


def cohort_rights(user, perimeters_ids_by_key: dict[str, list[str]]) -> dict[str, dict[str, bool]]:
    """The §11.2 rights for each key (a cohort's group id) given the perimeter cohort ids of its query."""
    rights = UserRights.of(user)
    lineages = lineages_by_cohort_id(c for ids in perimeters_ids_by_key.values() for c in ids)
    covered_by_right = {
        name: covered_cohort_ids(lineages, rights.perimeters_with(*flags)) for name, flags in COHORT_RIGHTS.items()
    }
    answer = {}
    for key, cohort_ids in perimeters_ids_by_key.items():
        known = {str(c) for c in cohort_ids} & lineages.keys()
        answer[key] = {name: bool(known) and known <= covered for name, covered in covered_by_right.items()}
    return answer


def has_valid_access(user) -> bool:
    return bool(UserRights.of(user).accesses)
