"""A validated export request: what the validation (exports.services.validation) hands to the creation."""

from __future__ import annotations

from dataclasses import dataclass, field

from cohort.models import CohortResult, FhirFilter
from exports.models import Datalab

# The table every export starts from: OMOP's `person` (Cohort360), or `patient` (the Portail's Jupyter form).
PATIENT_TABLES = ("person", "patient")


@dataclass(frozen=True)
class TableRequest:
    name: str
    cohort_source: CohortResult | None = None
    fhir_filter: FhirFilter | None = None
    columns: list[str] | None = None
    pivot_merge: bool = False
    pivot_merge_columns: list[str] | None = None
    pivot_merge_ids: list[str] | None = None


@dataclass(frozen=True)
class ExportRequest:
    output_format: str
    nominative: bool
    shift_dates: bool = False
    group_tables: bool = False
    motivation: str = ""
    datalab: Datalab | None = None
    tables: list[TableRequest] = field(default_factory=list)

    @property
    def source_cohorts(self) -> list[CohortResult]:
        seen: dict = {}
        for table in self.tables:
            if table.cohort_source is not None:
                seen.setdefault(table.cohort_source.pk, table.cohort_source)
        return list(seen.values())
