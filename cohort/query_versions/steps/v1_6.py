"""v1.6.0 (Encounter age parameter) and v1.6.1 (medications searched by `code`); spec 02 §5.4."""

from __future__ import annotations

from cohort.query_versions.step import VersionStep

V1_6_0 = VersionStep(
    target="v1.6.0",
    accepts=frozenset({"v1.5.0", "v1.5.1"}),
    renames={"Encounter": {"end-age-visit": "start-age-visit"}},
)

V1_6_1 = VersionStep(
    target="v1.6.1",
    accepts=frozenset({"v1.6.0"}),
    renames={resource: {"medication": "code"} for resource in ("MedicationAdministration", "MedicationRequest")},
)
