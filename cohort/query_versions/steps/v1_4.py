"""v1.4.0 to v1.4.5 (spec 02 §5.4, table rows v1.4.0 … v1.4.5): parameter renames and code translations.

Code-system URLs come from the deployment configuration (`cohort.query_versions.code_systems`); the code
translations look codes up in a terminology (`cohort.query_versions.terminology`, which says what happens
without one).
"""

from __future__ import annotations

from cohort.query_versions import code_systems
from cohort.query_versions.step import (
    DEFAULT_RESOURCE,
    UpgradeContext,
    ValueFunction,
    ValueMapping,
    VersionStep,
    add_if_parameter_absent,
)
from cohort.query_versions.terminology import SYSTEM_SEPARATOR, has_system, map_code_list, translate_code

MEDICATIONS = ("MedicationRequest", "MedicationAdministration")
NOT_PROVIDED = "NON RENSEIGNE"
UNDEFINED_PREFIX = "undefined|"
TEXT_PLAIN = "text/plain"

# "care-site renames to `encounter.encounter-care-site` / `context.encounter-care-site`": the spec names the new
# parameters only, not the old ones, so this list is empty until the deployment knows them. Following the
# encounter rule the spec gives for v1.5.0, the new name is `context.encounter-care-site` for
# MedicationAdministration and `encounter.encounter-care-site` everywhere else.
CARE_SITE_PARAMETERS: tuple[str, ...] = ()


def care_site_renames(old_names: tuple[str, ...]) -> dict[str, dict[str, str]]:
    return {
        DEFAULT_RESOURCE: dict.fromkeys(old_names, "encounter.encounter-care-site"),
        "MedicationAdministration": dict.fromkeys(old_names, "context.encounter-care-site"),
    }


def _merge(*tables: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for table in tables:
        for resource, renames in table.items():
            merged.setdefault(resource, {}).update(renames)
    return merged


def atc_code(code: str, context: UpgradeContext) -> str:
    """ORBIS ATC -> ATC through the terminology; not found: the code stays in the UCD system if the terminology
    knows it there, in the ORBIS ATC system otherwise ("fallback to UCD/ORBIS systems")."""
    systems = context.code_systems
    orbis_atc, atc, ucd = (
        systems.url(code_systems.ORBIS_ATC),
        systems.url(code_systems.ATC),
        systems.url(code_systems.UCD),
    )

    def fallback(bare: str) -> str:
        system = ucd if context.terminology.has_code(bare, system=ucd) else orbis_atc
        return f"{system}{SYSTEM_SEPARATOR}{bare}"

    return translate_code(
        code, source_system=orbis_atc, target_system=atc, terminology=context.terminology, fallback=fallback
    )


def translate_atc_codes(value: str, context: UpgradeContext) -> str:
    return map_code_list(value, lambda code: atc_code(code, context))


def translate_unprefixed_atc_codes(value: str, context: UpgradeContext) -> str:
    return map_code_list(value, lambda code: code if has_system(code) else atc_code(code, context))


def translate_undefined_atc_codes(value: str, context: UpgradeContext) -> str:
    """The spec says "fix medication codes prefixed `undefined|`": read as translating the code after the bogus
    prefix like an unprefixed one."""
    return map_code_list(
        value,
        lambda code: (
            atc_code(code.removeprefix(UNDEFINED_PREFIX), context) if code.startswith(UNDEFINED_PREFIX) else code
        ),
    )


def translate_to(source: str, target: str) -> ValueFunction:
    """Codes of the `source` system (bare or prefixed) -> `target` system; not found: `target|NON RENSEIGNE`."""

    def translate(value: str, context: UpgradeContext) -> str:
        def one(code: str) -> str:
            target_url = context.code_systems.url(target)
            return translate_code(
                code,
                source_system=context.code_systems.url(source),
                target_system=target_url,
                terminology=context.terminology,
                fallback=lambda _: f"{target_url}{SYSTEM_SEPARATOR}{NOT_PROVIDED}",
            )

        return map_code_list(value, one)

    return translate


def plain_text_content_type(items: list[str], context: UpgradeContext) -> str | None:
    """`contenttype=<system>|text/plain`, added when absent; the spec elides the system, so it is configured."""
    content_type = f"contenttype={context.code_systems.url(code_systems.CONTENT_TYPE)}{SYSTEM_SEPARATOR}{TEXT_PLAIN}"
    return None if content_type in items else content_type


def _for_medications(mappings: dict[str, ValueMapping]) -> dict[str, dict[str, ValueMapping]]:
    return {resource: mappings for resource in MEDICATIONS}


_ATC = ValueMapping(otherwise=translate_atc_codes)

V1_4_0 = VersionStep(
    target="v1.4.0",
    accepts=frozenset({"v1.3.0"}),
    renames=_merge(
        # "`patient-active`→`subject.active` (most resources) or `patient.active` (Claim)" and
        # "`codeList`→`code` / `diagnosis`": read with the same split, `diagnosis` being Claim's.
        {
            DEFAULT_RESOURCE: {"patient-active": "subject.active", "codeList": "code"},
            "Claim": {"patient-active": "patient.active", "codeList": "diagnosis"},
        },
        care_site_renames(CARE_SITE_PARAMETERS),
        {resource: {"hierarchy-ATC": "medication", "medication-simple": "medication"} for resource in MEDICATIONS},
        {"Observation": {"row_status": "status", "part-of": "code", "value-quantity-value": "value-quantity"}},
    ),
    dropped={"DocumentReference": frozenset({"empty"})},
    values={
        # Filter values are URL-encoded (spec §5.1): `Validé` may be stored either way.
        "Observation": {"row_status": ValueMapping(exact={"Validé": "Val", "Valid%C3%A9": "Val"})},
        **_for_medications({"hierarchy-ATC": _ATC, "medication-simple": _ATC}),
    },
    required={"DocumentReference": [plain_text_content_type]},
)

V1_4_1 = VersionStep(
    target="v1.4.1",
    accepts=frozenset({"v1.4.0"}),
    values=_for_medications({"medication": ValueMapping(otherwise=translate_unprefixed_atc_codes)}),
)

V1_4_2 = VersionStep(
    target="v1.4.2",
    accepts=frozenset({"v1.4.0", "v1.4.1"}),
    dropped={"DocumentReference": frozenset({"empty"})},
    values={
        "Procedure": {"code": ValueMapping(otherwise=translate_to(code_systems.ORBIS_CCAM, code_systems.ATIH_CCAM))}
    },
)

V1_4_3 = VersionStep(
    target="v1.4.3",
    accepts=frozenset({"v1.4.0", "v1.4.1", "v1.4.2"}),
    values=_for_medications({"medication": ValueMapping(otherwise=translate_undefined_atc_codes)}),
)

# The spec's table has v1.4.4 accept v1.4.0 only, which would strand every query at v1.4.1-v1.4.3: no later
# step accepts them. Those steps touch other parameters than v1.4.4, so they are accepted too.
V1_4_4 = VersionStep(
    target="v1.4.4",
    accepts=frozenset({"v1.4.0", "v1.4.1", "v1.4.2", "v1.4.3"}),
    values={"Condition": {"code": ValueMapping(otherwise=translate_to(code_systems.ORBIS_CIM10, code_systems.CIM10))}},
)

V1_4_5 = VersionStep(
    target="v1.4.5",
    accepts=frozenset({"v1.4.4"}),
    required={"Observation": [add_if_parameter_absent("value-quantity", "ge0,le0")]},
)
