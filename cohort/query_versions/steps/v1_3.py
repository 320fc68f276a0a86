"""v1.3.0: the first versioned format; accepts a query of any version (spec 02 §5.4, table row v1.3.0).

Only what the spec names is here. The spec lists the Encounter renames by example ("many Encounter parameter
renames (e.g. …)"): `ENCOUNTER_RENAMES` is the place to add the others.
"""

from __future__ import annotations

from cohort.query_versions import code_systems
from cohort.query_versions.step import DEFAULT_RESOURCE, UpgradeContext, ValueFunction, ValueMapping, VersionStep
from cohort.query_versions.terminology import SYSTEM_SEPARATOR, has_system, map_code_list

ENCOUNTER_RENAMES = {
    "discharge-type": "destination-type",
    "entryMode": "admission-mode",
    "admissionMode": "admission-mode",
    "admitted-from": "admission-mode",
    "reason": "reason-code",
    "gender": "_has:Patient:encounter:gender",
}

MEDICATIONS = ("MedicationRequest", "MedicationAdministration")

# "Prefix code values with ORBIS code-system URLs (`*` wildcard mapping)": the catch-all value mapping of the
# `code` parameter prefixes every code with the resource's ORBIS system. The spec names two ORBIS systems,
# through the steps that later translate them: ORBIS CCAM (Procedure, v1.4.2) and ORBIS CIM-10 (Condition,
# v1.4.4); resources of other ORBIS systems can be added here.
ORBIS_CODE_SYSTEMS = {
    "Condition": code_systems.ORBIS_CIM10,
    "Procedure": code_systems.ORBIS_CCAM,
}


def prefix_codes(system: str) -> ValueFunction:
    """Prefixes each code that has no code system yet with `system`'s URL (a prefixed code is kept)."""

    def prefix(value: str, context: UpgradeContext) -> str:
        return map_code_list(
            value,
            lambda code: code if has_system(code) else f"{context.code_systems.url(system)}{SYSTEM_SEPARATOR}{code}",
        )

    return prefix


V1_3_0 = VersionStep(
    target="v1.3.0",
    accepts=None,
    renames={
        "Encounter": ENCOUNTER_RENAMES,
        "Composition": {"status": "docstatus"},
        "IPPList": {"identifier-simple": "identifier.value"},
        DEFAULT_RESOURCE: {"patient.active": "patient-active"},
    },
    dropped={
        **{resource: frozenset({"medication-simple"}) for resource in MEDICATIONS},
        "Encounter": frozenset({"fileStatus"}),
    },
    values={
        resource: {"code": ValueMapping(otherwise=prefix_codes(system))}
        for resource, system in ORBIS_CODE_SYSTEMS.items()
    },
    # "add required `patient-active=true` / `active=true` / `_has:Patient:encounter:active=true`": read as
    # `active=true` on Patient, `_has:Patient:encounter:active=true` on Encounter and, like the default rename
    # to `patient-active`, `patient-active=true` on every other resource, IPP lists excepted (a list of patient
    # identifiers, whose filter must hold only `identifier.value` parts, spec §5.3).
    required={
        "Patient": ["active=true"],
        "Encounter": ["_has:Patient:encounter:active=true"],
        "IPPList": [],
        DEFAULT_RESOURCE: ["patient-active=true"],
    },
    resources={"Composition": "DocumentReference"},
)
