"""Patient-data reading rights of a user over the perimeter tree (spec 01 §10.4-§10.6).

Reading rights flow down the tree: an access on Q covers Q and every descendant. All the "is P covered"
questions are answered with the closure table, never by walking the tree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from accesses import catalogue
from accesses.models import Perimeter, PerimeterClosure
from accesses.selectors import ancestors_by_perimeter, descendant_ids
from accesses.services.user_rights import UserRights

READ_NOMINATIVE = "READ_PATIENT_NOMINATIVE"
READ_PSEUDONYMIZED = "READ_PATIENT_PSEUDO_ANONYMIZE"
NO_READ = "NO READ PATIENT RIGHT"

# Cohort apps register how a cohort id (a group id) maps to the perimeter cohort ids of its query, so that
# `patient-data/read` accepts cohort ids as well as perimeter cohort ids without this app importing them.
CohortPerimetersResolver = Callable[[list[str]], set[str]]
_cohort_resolvers: list[CohortPerimetersResolver] = []


def register_cohort_perimeters_resolver(resolver: CohortPerimetersResolver) -> None:
    if resolver not in _cohort_resolvers:
        _cohort_resolvers.append(resolver)


class ReadCheckError(Exception):
    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


# ------------------------------------------------------------------------------------ my data rights
_DATA_FLAGS = (catalogue.READ_NOMINATIVE, catalogue.READ_PSEUDONYMIZED, *catalogue.GLOBAL_DATA_RIGHTS)


def data_rights(rights: UserRights, perimeter_ids: list[int] | None) -> list[dict]:
    """Effective data rights per perimeter (§10.4): reading inherited from ancestors, global rights everywhere."""
    data_accesses = [a for a in rights.accesses if catalogue.holds(a.role, catalogue.DATA_RIGHTS)]
    records: dict[int, dict[str, bool]] = {}
    for access in data_accesses:
        if access.perimeter_id is None or not catalogue.holds(access.role, catalogue.READING):
            continue
        record = records.setdefault(access.perimeter_id, {flag: False for flag in _DATA_FLAGS})
        for flag in catalogue.READING:
            record[flag] |= getattr(access.role, flag)
    targets = set(Perimeter.objects.filter(id__in=perimeter_ids or []).values_list("id", flat=True))
    for target in sorted(targets):
        records.setdefault(target, {flag: False for flag in _DATA_FLAGS})
    ancestors = ancestors_by_perimeter(records)
    reading = {pid: {flag: record[flag] for flag in catalogue.READING} for pid, record in records.items()}
    global_flags = {flag: any(getattr(a.role, flag) for a in data_accesses) for flag in catalogue.GLOBAL_DATA_RIGHTS}
    result = []
    for pid, record in records.items():
        if targets and pid not in targets:
            continue
        for ancestor in ancestors[pid] & reading.keys():
            for flag in catalogue.READING:
                record[flag] |= reading[ancestor][flag]
        for flag, held in global_flags.items():
            record[flag] |= held
        if record[catalogue.READ_NOMINATIVE] or record[catalogue.READ_PSEUDONYMIZED]:
            result.append({"user_id": rights.user.pk, "perimeter_id": pid, **record})
    return result


# ---------------------------------------------------------------------------- patient-data/rights
@dataclass(frozen=True)
class ReadingPerimeters:
    nominative: set[int]  # perimeters of valid accesses reading nominative data
    any_reading: set[int]  # ... reading nominative or pseudonymised data

    @classmethod
    def of(cls, rights: UserRights) -> ReadingPerimeters:
        return cls(
            nominative=rights.perimeters_with(catalogue.READ_NOMINATIVE),
            any_reading=rights.perimeters_with(*catalogue.READING),
        )

    def tops(self) -> set[int]:
        """The highest nominative perimeters, and the highest pseudonymised ones not under them (§10.5 steps 3-4)."""
        ancestors = ancestors_by_perimeter(self.any_reading)
        top_nominative = {p for p in self.nominative if not ancestors[p] & self.nominative}
        top_pseudonymized = {
            p for p in self.any_reading - top_nominative if not ancestors[p] & (self.any_reading | top_nominative)
        }
        return top_nominative | top_pseudonymized


def _covered_by(perimeter_ids: set[int]) -> Exists:
    return Exists(PerimeterClosure.objects.filter(descendant_id=OuterRef("id"), ancestor_id__in=perimeter_ids))


def readable_perimeters(rights: UserRights, perimeters: QuerySet[Perimeter], *, expand: bool) -> QuerySet:
    """The perimeters to list in the read-rights picker (§10.5), annotated with `reads_nominative`.

    Without `expand`, the user's top readable perimeters; with it, every readable perimeter (the tops and
    all their descendants). Either way restricted to `perimeters` (the caller's filters).
    """
    reading = ReadingPerimeters.of(rights)
    if not reading.any_reading:
        return perimeters.none()
    candidates = descendant_ids(reading.any_reading) if expand else reading.tops()
    return (
        perimeters.filter(id__in=candidates)
        .annotate(reads_nominative=_covered_by(reading.nominative))
        .order_by("full_path", "id")
    )


def read_rights_item(perimeter: Perimeter, *, ipp: bool, opposed: bool) -> dict:
    nominative = perimeter.reads_nominative
    return {
        "read_role": READ_NOMINATIVE if nominative else READ_PSEUDONYMIZED,
        "right_read_patient_nominative": nominative,
        "right_read_patient_pseudonymized": True,
        "right_search_patients_by_ipp": ipp,
        "right_read_opposed_patients_data": opposed,
    }


# ------------------------------------------------------------------------------ patient-data/read
MODES = ("min", "max")


def check_read_mode(rights: UserRights, cohort_ids: Iterable[str], mode: str) -> dict:
    """Whether the user may read the patients of the target cohorts, and in which mode (§10.6).

    Raises ReadCheckError with the reference's messages and statuses.
    """
    answer = {
        "allow_read_patient_data_nomi": True,
        "allow_lookup_opposed_patients": True,
        "allow_read_patient_without_perimeter_limit": True,
        "allow_read_practitioner": False,
    }
    if rights.holds(catalogue.SEARCH_UNLIMITED):
        return answer
    ids = list(cohort_ids)
    for resolver in _cohort_resolvers:
        ids += sorted(resolver(ids))
    targets = list(Perimeter.objects.filter(cohort_id__in=ids).values_list("id", flat=True))
    if not targets:
        raise ReadCheckError("None of the target perimeters was found", 404)
    reading = ReadingPerimeters.of(rights)
    ancestors = ancestors_by_perimeter(targets)
    lines = [ancestors[target] | {target} for target in targets]
    readable = [bool(line & reading.any_reading) for line in lines]
    nominative = [bool(line & reading.nominative) for line in lines]
    combine = all if mode == "min" else any
    if not combine(readable):
        raise ReadCheckError("User has no data reading accesses", 404)
    answer.update(
        allow_read_patient_data_nomi=combine(nominative),
        allow_lookup_opposed_patients=rights.holds(catalogue.SEARCH_OPPOSED),
        allow_read_patient_without_perimeter_limit=False,
        allow_read_practitioner=rights.holds(catalogue.MANAGE_USERS),
    )
    return answer
