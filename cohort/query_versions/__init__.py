"""Format versions of the stored queries (`serialized_query`) and the upgraders between them (spec 02 §5.4).

Each version step is a table (`steps/`): renamed, dropped and value-mapped filter parameters per resource,
required filters, renamed resources and hooks, holding only what the spec names. `upgrade_query` applies every
step after a query's version up to `LATEST_VERSION`; `cohort.services.query_upgrades` runs it over the stored
snapshots and FHIR filters.

Deployment data the spec does not give:
* code-system URLs: the setting QUERY_UPGRADE_CODE_SYSTEMS (`code_systems`); a query whose upgrade needs a
  system that is not configured fails and is left unchanged;
* the terminology the v1.4.x code translations look codes up in (`terminology`); without one the spec's
  not-found fallbacks apply.

Our decisions where the spec is silent or would strand queries are commented where they are made (v1.4.4's
accepted versions, the wildcard and already-translated codes, one-bound and null date options, legacy
versions).
"""

from cohort.query_versions.code_systems import CodeSystems
from cohort.query_versions.step import QueryUpgradeError, UpgradeContext, ValueMapping, VersionStep
from cohort.query_versions.steps import LATEST_VERSION, STEPS
from cohort.query_versions.terminology import NO_TERMINOLOGY, InMemoryTerminology, Terminology
from cohort.query_versions.upgrade import (
    Outcome,
    TextUpgradeResult,
    UpgradeResult,
    upgrade_document,
    upgrade_fhir_filter,
    upgrade_query,
    upgrade_serialized_query,
)
from cohort.query_versions.walker import apply_step

__all__ = [
    "LATEST_VERSION",
    "NO_TERMINOLOGY",
    "STEPS",
    "CodeSystems",
    "InMemoryTerminology",
    "Outcome",
    "QueryUpgradeError",
    "Terminology",
    "TextUpgradeResult",
    "UpgradeContext",
    "UpgradeResult",
    "ValueMapping",
    "VersionStep",
    "apply_step",
    "upgrade_document",
    "upgrade_fhir_filter",
    "upgrade_query",
    "upgrade_serialized_query",
]
