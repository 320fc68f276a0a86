"""The stored-query format versions and their upgraders (spec 02 §5.4).

Expected results are written out from the spec's table; code-system URLs are made up (test configuration).
"""

from __future__ import annotations

import copy
import itertools
import json

import pytest

from cohort.query_versions import (
    LATEST_VERSION,
    NO_TERMINOLOGY,
    STEPS,
    CodeSystems,
    InMemoryTerminology,
    Outcome,
    UpgradeContext,
    ValueMapping,
    VersionStep,
    apply_step,
    upgrade_document,
    upgrade_fhir_filter,
    upgrade_query,
    upgrade_serialized_query,
)
from cohort.query_versions.steps.v1_3 import V1_3_0
from cohort.query_versions.steps.v1_4 import V1_4_0, V1_4_1, V1_4_2, V1_4_3, V1_4_4, V1_4_5, care_site_renames
from cohort.query_versions.steps.v1_5 import V1_5_0, V1_5_1
from cohort.query_versions.steps.v1_6 import V1_6_0, V1_6_1

ORBIS_CIM10 = "https://codes.example.org/orbis-cim10"
ORBIS_CCAM = "https://codes.example.org/orbis-ccam"
ORBIS_ATC = "https://codes.example.org/orbis-atc"
UCD = "https://codes.example.org/ucd"
ATC = "https://codes.example.org/atc"
ATIH_CCAM = "https://codes.example.org/atih-ccam"
CIM10 = "https://codes.example.org/cim10"
MEDIA_TYPES = "https://codes.example.org/media-types"
SYSTEMS = {
    "orbis_cim10": ORBIS_CIM10,
    "orbis_ccam": ORBIS_CCAM,
    "orbis_atc": ORBIS_ATC,
    "ucd": UCD,
    "atc": ATC,
    "atih_ccam": ATIH_CCAM,
    "cim10": CIM10,
    "contenttype": MEDIA_TYPES,
}
CONTENT_TYPE = f"contenttype={MEDIA_TYPES}|text/plain"

# The spec's v1.5.0 example, verbatim.
SPEC_DATE_FILTER = (
    "_filter=%28recorded-date%20gt%202020-01-01%20and%20recorded-date%20lt%202020-01-02%29"
    "%20or%20not%20%28recorded-date%20eq%20%22%2A%22%29"
)


@pytest.fixture(autouse=True)
def no_code_systems(settings):
    """Nothing configured unless a test asks for `configured`: the tests never depend on the environment."""
    settings.QUERY_UPGRADE_CODE_SYSTEMS = {}


@pytest.fixture
def configured(settings):
    settings.QUERY_UPGRADE_CODE_SYSTEMS = SYSTEMS


def leaf(_id: int, resource: str, filter_fhir: str, **options) -> dict:
    return {"_id": _id, "_type": "basicResource", "isInclusive": True, "resourceType": resource,
            "filterFhir": filter_fhir, **options}  # fmt: skip


def request_query(version: str | None, *criteria: dict) -> dict:
    query = {
        "_type": "request",
        "resourceType": "Patient",
        "sourcePopulation": {"caresiteCohortList": ["8312002244"]},
        "request": {"_id": 0, "_type": "andGroup", "isInclusive": True, "criteria": list(criteria)},
    }
    return query if version is None else {"version": version, **query}


def leaves_of(query: dict) -> dict[int, tuple[str, str]]:
    return {node["_id"]: (node["resourceType"], node["filterFhir"]) for node in query["request"]["criteria"]}


def run_step(step: VersionStep, *criteria: dict, terminology=NO_TERMINOLOGY, systems=SYSTEMS) -> dict:
    """One step alone, on a request of the given leaves."""
    query = request_query("any", *criteria)
    apply_step(query, step, UpgradeContext(terminology=terminology, code_systems=CodeSystems(systems)))
    return leaves_of(query)


def upgraded_leaves(query: dict, **kwargs) -> dict[int, tuple[str, str]]:
    result = upgrade_serialized_query(json.dumps(query), **kwargs)
    assert result.outcome is Outcome.UPGRADED, result.reason
    assert json.loads(result.text)["version"] == LATEST_VERSION == "v1.6.1"
    return leaves_of(json.loads(result.text))


# ------------------------------------------------------------------------------------------------- v1.3.0


def test_v1_3_0_renames_drops_and_required_filters():
    assert run_step(
        V1_3_0,
        leaf(1, "Encounter", "discharge-type=X&entryMode=a&admissionMode=b&admitted-from=c&reason=r&gender=f"
                             "&fileStatus=z&other=1"),
        leaf(2, "Composition", "status=final&patient.active=true"),
        leaf(3, "IPPList", "identifier-simple=1,2"),
        leaf(4, "Patient", "gender=f"),
        leaf(5, "Patient", "active=true&gender=f"),
        leaf(6, "MedicationRequest", "medication-simple=X&hierarchy-ATC=A01"),
        leaf(7, "MedicationAdministration", "medication-simple=X"),
        leaf(8, "Observation", "code=A0001"),
        leaf(9, "Claim", "code=05M09&status=x"),
    ) == {
        1: ("Encounter", "destination-type=X&admission-mode=a&admission-mode=b&admission-mode=c&reason-code=r"
                         "&_has:Patient:encounter:gender=f&other=1&_has:Patient:encounter:active=true"),
        2: ("DocumentReference", "docstatus=final&patient-active=true"),
        3: ("IPPList", "identifier.value=1,2"),
        4: ("Patient", "gender=f&active=true"),
        5: ("Patient", "active=true&gender=f"),
        6: ("MedicationRequest", "hierarchy-ATC=A01&patient-active=true"),
        7: ("MedicationAdministration", "patient-active=true"),
        8: ("Observation", "code=A0001&patient-active=true"),
        9: ("Claim", "code=05M09&status=x&patient-active=true"),
    }  # fmt: skip


def test_v1_3_0_prefixes_condition_and_procedure_codes_with_their_orbis_system():
    assert run_step(
        V1_3_0,
        leaf(1, "Condition", "code=E11,I10&patient.active=true"),
        leaf(2, "Procedure", "code=*,https://other.example.org/ccam|X"),
    ) == {
        1: ("Condition", f"code={ORBIS_CIM10}|E11,{ORBIS_CIM10}|I10&patient-active=true"),
        2: ("Procedure", f"code={ORBIS_CCAM}|*,https://other.example.org/ccam|X&patient-active=true"),
    }


# ------------------------------------------------------------------------------------------------- v1.4.x


def test_v1_4_0_renames():
    assert run_step(
        V1_4_0,
        leaf(1, "Claim", "codeList=05M09&patient-active=true"),
        leaf(2, "Condition", "codeList=E11&patient-active=true"),
        leaf(3, "Observation", "row_status=Validé&part-of=A0001&value-quantity-value=ge2&patient-active=true"),
        leaf(4, "Observation", "row_status=Valid%C3%A9"),
        leaf(5, "Observation", "row_status=Other"),
        leaf(6, "Encounter", "_has:Patient:encounter:active=true"),
    ) == {
        1: ("Claim", "diagnosis=05M09&patient.active=true"),
        2: ("Condition", "code=E11&subject.active=true"),
        3: ("Observation", "status=Val&code=A0001&value-quantity=ge2&subject.active=true"),
        4: ("Observation", "status=Val"),
        5: ("Observation", "status=Other"),
        6: ("Encounter", "_has:Patient:encounter:active=true"),
    }


def test_v1_4_0_translates_medication_codes_to_atc_with_the_ucd_and_orbis_fallbacks():
    terminology = InMemoryTerminology({(ORBIS_ATC, "A01AA", ATC): "A01AA"}, codes=frozenset({(UCD, "3400890")}))
    assert run_step(
        V1_4_0,
        leaf(1, "MedicationRequest", f"hierarchy-ATC=A01AA,{ORBIS_ATC}|B02,3400890,*&patient-active=true"),
        leaf(2, "MedicationAdministration", "medication-simple=A01AA,C03"),
        terminology=terminology,
    ) == {
        1: ("MedicationRequest", f"medication={ATC}|A01AA,{ORBIS_ATC}|B02,{UCD}|3400890,{ATC}|*&subject.active=true"),
        2: ("MedicationAdministration", f"medication={ATC}|A01AA,{ORBIS_ATC}|C03"),
    }


def test_v1_4_0_document_references():
    assert run_step(
        V1_4_0,
        leaf(1, "DocumentReference", "empty=true&docstatus=final&patient-active=true"),
        leaf(2, "DocumentReference", CONTENT_TYPE),
    ) == {
        1: ("DocumentReference", f"docstatus=final&subject.active=true&{CONTENT_TYPE}"),
        2: ("DocumentReference", CONTENT_TYPE),
    }


def test_care_site_renames_follow_the_encounter_rule_of_the_spec():
    # The spec names only the new care-site parameters; the old names are for the deployment to add.
    step = VersionStep(target="v9", accepts=None, renames=care_site_renames(("old-care-site",)))
    assert run_step(
        step,
        leaf(1, "MedicationAdministration", "old-care-site=1"),
        leaf(2, "Procedure", "old-care-site=2"),
    ) == {
        1: ("MedicationAdministration", "context.encounter-care-site=1"),
        2: ("Procedure", "encounter.encounter-care-site=2"),
    }


def test_v1_4_1_translates_only_the_medication_codes_without_a_system():
    terminology = InMemoryTerminology({(ORBIS_ATC, "A05", ATC): "A05X"})
    assert run_step(
        V1_4_1,
        leaf(1, "MedicationRequest", f"medication=A04,{ATC}|B01,undefined|X"),
        leaf(2, "MedicationAdministration", "medication=A05"),
        leaf(3, "Observation", "medication=A06"),
        terminology=terminology,
    ) == {
        1: ("MedicationRequest", f"medication={ORBIS_ATC}|A04,{ATC}|B01,undefined|X"),
        2: ("MedicationAdministration", f"medication={ATC}|A05X"),
        3: ("Observation", "medication=A06"),
    }


def test_v1_4_2_translates_procedure_codes_to_the_atih_system():
    terminology = InMemoryTerminology({(ORBIS_CCAM, "JQGA004", ATIH_CCAM): "JQGA004"})
    assert run_step(
        V1_4_2,
        leaf(1, "Procedure", f"code={ORBIS_CCAM}|JQGA004,{ORBIS_CCAM}|ZZZZ999,{ATIH_CCAM}|AAFA001,{ORBIS_CCAM}|*"),
        leaf(2, "DocumentReference", "empty=true&docstatus=final"),
        leaf(3, "Condition", f"code={ORBIS_CIM10}|E11"),
        terminology=terminology,
    ) == {
        1: ("Procedure", f"code={ATIH_CCAM}|JQGA004,{ATIH_CCAM}|NON RENSEIGNE,{ATIH_CCAM}|AAFA001,{ATIH_CCAM}|*"),
        2: ("DocumentReference", "docstatus=final"),
        3: ("Condition", f"code={ORBIS_CIM10}|E11"),
    }


def test_v1_4_3_fixes_the_undefined_medication_prefix():
    terminology = InMemoryTerminology({(ORBIS_ATC, "A03", ATC): "A03"}, codes=frozenset({(UCD, "3400")}))
    assert run_step(
        V1_4_3,
        leaf(1, "MedicationRequest", f"medication=undefined|A03,undefined|3400,{ATC}|B01"),
        leaf(2, "MedicationAdministration", "medication=undefined|C01"),
        terminology=terminology,
    ) == {
        1: ("MedicationRequest", f"medication={ATC}|A03,{UCD}|3400,{ATC}|B01"),
        2: ("MedicationAdministration", f"medication={ORBIS_ATC}|C01"),
    }


def test_v1_4_4_translates_condition_codes_to_the_national_cim10_system():
    terminology = InMemoryTerminology({(ORBIS_CIM10, "E11", CIM10): "E11", (ORBIS_CIM10, "E12", CIM10): "E12"})
    assert run_step(
        V1_4_4,
        leaf(1, "Condition", f"code={ORBIS_CIM10}|E11,{ORBIS_CIM10}|ZZZ,E12"),
        leaf(2, "Procedure", f"code={ORBIS_CCAM}|X"),
        terminology=terminology,
    ) == {
        1: ("Condition", f"code={CIM10}|E11,{CIM10}|NON RENSEIGNE,{CIM10}|E12"),
        2: ("Procedure", f"code={ORBIS_CCAM}|X"),
    }


def test_v1_4_5_adds_an_observation_value_range_when_absent():
    assert run_step(
        V1_4_5,
        leaf(1, "Observation", "code=A"),
        leaf(2, "Observation", "code=A&value-quantity=ge5"),
        leaf(3, "Condition", "code=A"),
    ) == {
        1: ("Observation", "code=A&value-quantity=ge0,le0"),
        2: ("Observation", "code=A&value-quantity=ge5"),
        3: ("Condition", "code=A"),
    }


# ------------------------------------------------------------------------------------------------- v1.5.x


def test_v1_5_0_spec_example():
    query = request_query(
        "v1.4.5",
        leaf(1, "Condition", "A=1", dateRangeList=[{"minDate": "2020-01-01", "maxDate": "2020-01-02"}]),
    )
    result = json.loads(upgrade_query(json.dumps(query)))
    criterion = result["request"]["criteria"][0]
    assert criterion["filterFhir"] == f"A=1&{SPEC_DATE_FILTER}"
    assert criterion["dateRangeList"] == [{"minDate": "2020-01-01", "maxDate": "2020-01-02"}]  # left in place


@pytest.mark.parametrize(
    ("resource", "field"),
    [
        ("Condition", "recorded-date"),
        ("Procedure", "date"),
        ("Claim", "created"),
        ("DocumentReference", "date"),
        ("MedicationRequest", "validity-period-start"),
        ("MedicationAdministration", "effective-time"),
        ("ImagingStudy", "started"),
        ("Observation", "date"),
        ("QuestionnaireResponse", "authored"),
        ("Encounter", "period-start"),
    ],
)
def test_v1_5_0_date_fields_of_the_spec(resource, field):
    date_range = {"minDate": "2020-01-01", "maxDate": "2020-01-02", "dateIsNotNull": False}
    assert run_step(V1_5_0, leaf(1, resource, "A=1", dateRangeList=[date_range])) == {
        1: (resource, f"A=1&{field}=gt2020-01-01&{field}=lt2020-01-02")
    }


def test_v1_5_0_encounter_dates_and_null_handling():
    not_null = {"minDate": "2020-01-01", "maxDate": "2020-12-31", "dateIsNotNull": False}
    assert run_step(
        V1_5_0,
        leaf(1, "MedicationAdministration", "A=1", encounterDateRange=not_null),
        leaf(2, "Procedure", "", encounterDateRange=not_null),
        leaf(3, "Condition", "A=1", dateRangeList=[{"minDate": "2020-01-01", "maxDate": "2020-01-02",
                                                   "dateIsNotNull": True}]),
        leaf(4, "Procedure", "A=1", dateRangeList=[{"maxDate": "2020-01-02"}]),
        leaf(5, "Patient", "gender=f", dateRangeList=[{"minDate": "2020-01-01"}]),  # no date field: kept
        leaf(6, "Condition", "A=1", dateRangeList=[None, {}], encounterDateRange=None),
    ) == {
        1: ("MedicationAdministration", "A=1&context.period-start=gt2020-01-01&context.period-start=lt2020-12-31"),
        2: ("Procedure", "encounter.period-start=gt2020-01-01&encounter.period-start=lt2020-12-31"),
        3: ("Condition", f"A=1&{SPEC_DATE_FILTER}"),
        4: ("Procedure", "A=1&_filter=%28date%20lt%202020-01-02%29%20or%20not%20%28date%20eq%20%22%2A%22%29"),
        5: ("Patient", "gender=f"),
        6: ("Condition", "A=1"),
    }  # fmt: skip


def test_v1_5_1_removes_encounter_prefixes_from_encounter_filters_only():
    assert run_step(
        V1_5_1,
        leaf(1, "Encounter", "_filter=%28encounter.period-start%20gt%202020-01-01%29&a=encounter.x"),
        leaf(2, "Condition", "_filter=%28encounter.period-start%20gt%202020-01-01%29"),
    ) == {
        1: ("Encounter", "_filter=%28period-start%20gt%202020-01-01%29&a=encounter.x"),
        2: ("Condition", "_filter=%28encounter.period-start%20gt%202020-01-01%29"),
    }


# ------------------------------------------------------------------------------------------------- v1.6.x


def test_v1_6_0_renames_the_encounter_age():
    assert run_step(V1_6_0, leaf(1, "Encounter", "end-age-visit=ge18"), leaf(2, "Patient", "end-age-visit=ge18")) == {
        1: ("Encounter", "start-age-visit=ge18"),
        2: ("Patient", "end-age-visit=ge18"),
    }


def test_v1_6_1_medications_are_searched_by_code():
    assert run_step(
        V1_6_1,
        leaf(1, "MedicationRequest", "medication=X&subject.active=true"),
        leaf(2, "MedicationAdministration", "medication=Y"),
        leaf(3, "Observation", "medication=Z"),
    ) == {
        1: ("MedicationRequest", "code=X&subject.active=true"),
        2: ("MedicationAdministration", "code=Y"),
        3: ("Observation", "medication=Z"),
    }


# --------------------------------------------------------------------------------------------- whole chain


def test_a_legacy_query_without_version_goes_through_every_step(configured):
    terminology = InMemoryTerminology(
        {
            (ORBIS_CIM10, "E11", CIM10): "E11",
            (ORBIS_ATC, "A01", ATC): "A01",
            (ORBIS_CCAM, "JQGA004", ATIH_CCAM): "JQGA004",
        }
    )
    query = request_query(
        None,
        leaf(1, "Encounter", "discharge-type=X&fileStatus=Y&gender=f&end-age-visit=ge18"),
        leaf(2, "Composition", "status=final&empty=true"),
        leaf(3, "Condition", "code=E11&patient.active=true",
             dateRangeList=[{"minDate": "2020-01-01", "maxDate": "2020-01-02"}]),
        leaf(4, "Patient", "gender=f"),
        leaf(5, "MedicationRequest", "medication-simple=X&hierarchy-ATC=A01"),
        leaf(6, "IPPList", "identifier-simple=123,456"),
        leaf(7, "Procedure", "code=JQGA004"),
        leaf(8, "Observation", "part-of=A0001&row_status=Validé"),
    )  # fmt: skip
    assert upgraded_leaves(query, terminology=terminology) == {
        1: ("Encounter", "destination-type=X&_has:Patient:encounter:gender=f&start-age-visit=ge18"
                         "&_has:Patient:encounter:active=true"),
        2: ("DocumentReference", f"docstatus=final&subject.active=true&{CONTENT_TYPE}"),
        3: ("Condition", f"code={CIM10}|E11&subject.active=true&{SPEC_DATE_FILTER}"),
        4: ("Patient", "gender=f&active=true"),
        5: ("MedicationRequest", f"code={ATC}|A01&subject.active=true"),
        6: ("IPPList", "identifier.value=123,456"),
        7: ("Procedure", f"code={ATIH_CCAM}|JQGA004&subject.active=true"),
        8: ("Observation", "code=A0001&status=Val&subject.active=true&value-quantity=ge0,le0"),
    }  # fmt: skip


def test_without_a_terminology_the_spec_fallbacks_apply(configured):
    query = request_query(
        "v1.3.0",
        leaf(1, "MedicationRequest", "hierarchy-ATC=A02"),
        leaf(2, "Procedure", f"code={ORBIS_CCAM}|JQGA004"),
        leaf(3, "Condition", f"code={ORBIS_CIM10}|E11"),
    )
    assert upgraded_leaves(query) == {
        1: ("MedicationRequest", f"code={ORBIS_ATC}|A02"),
        2: ("Procedure", f"code={ATIH_CCAM}|NON RENSEIGNE"),
        3: ("Condition", f"code={CIM10}|NON RENSEIGNE"),
    }


def test_a_pre_versioning_version_number_counts_as_legacy():
    query = request_query("v1.2.0", leaf(1, "Patient", "gender=f"))
    assert upgraded_leaves(query) == {1: ("Patient", "gender=f&active=true")}


def test_v1_4_1_to_v1_4_3_queries_reach_the_latest_version(configured):
    for version in ("v1.4.1", "v1.4.2", "v1.4.3"):
        query = request_query(version, leaf(1, "Condition", f"code={ORBIS_CIM10}|E11"))
        assert upgraded_leaves(query) == {1: ("Condition", f"code={CIM10}|NON RENSEIGNE")}, version


# ------------------------------------------------------------------------------------ code-system settings


@pytest.mark.parametrize(
    ("missing", "query"),
    [
        ("orbis_cim10", request_query(None, leaf(1, "Condition", "code=E11"))),
        ("orbis_ccam", request_query(None, leaf(1, "Procedure", "code=X"))),
        ("orbis_atc", request_query("v1.3.0", leaf(1, "MedicationRequest", "hierarchy-ATC=A01"))),
        ("atc", request_query("v1.3.0", leaf(1, "MedicationRequest", "hierarchy-ATC=A01"))),
        ("ucd", request_query("v1.3.0", leaf(1, "MedicationAdministration", "medication-simple=A01"))),
        ("atih_ccam", request_query("v1.4.1", leaf(1, "Procedure", "code=X"))),
        ("cim10", request_query("v1.4.3", leaf(1, "Condition", "code=X"))),
        ("contenttype", request_query("v1.3.0", leaf(1, "DocumentReference", "docstatus=final"))),
    ],
)
def test_a_query_needing_a_code_system_that_is_not_configured_fails_unchanged(settings, missing, query):
    settings.QUERY_UPGRADE_CODE_SYSTEMS = {name: url for name, url in SYSTEMS.items() if name != missing}
    text = json.dumps(query)
    result = upgrade_serialized_query(text)
    assert (result.outcome, result.text) == (Outcome.FAILED, text)
    assert result.reason == f"code system {missing} is not configured (setting QUERY_UPGRADE_CODE_SYSTEMS)"
    settings.QUERY_UPGRADE_CODE_SYSTEMS = SYSTEMS
    assert upgrade_serialized_query(text).outcome is Outcome.UPGRADED


def test_queries_needing_no_code_system_upgrade_with_nothing_configured():
    query = request_query(
        None,
        leaf(1, "Encounter", "gender=f"),
        leaf(2, "Patient", "gender=f"),
        leaf(3, "Observation", "code=A0001"),
        leaf(4, "MedicationRequest", "medication-simple=X"),
    )
    assert upgraded_leaves(query) == {
        1: ("Encounter", "_has:Patient:encounter:gender=f&_has:Patient:encounter:active=true"),
        2: ("Patient", "gender=f&active=true"),
        3: ("Observation", "code=A0001&subject.active=true&value-quantity=ge0,le0"),
        4: ("MedicationRequest", "subject.active=true"),
    }


def test_code_systems_given_explicitly_override_the_setting():
    query = request_query(None, leaf(1, "Condition", "code=E11"))
    assert upgraded_leaves(query, code_systems=SYSTEMS) == {
        1: ("Condition", f"code={CIM10}|NON RENSEIGNE&subject.active=true")
    }


@pytest.mark.parametrize(
    ("setting", "reason"),
    [
        (
            ["https://codes.example.org"],
            "QUERY_UPGRADE_CODE_SYSTEMS must be a JSON object of code-system names to URLs",
        ),
        ({"orbis_cim10": "  "}, "code system orbis_cim10 is not configured (setting QUERY_UPGRADE_CODE_SYSTEMS)"),
        ({"orbis_cim10": 3}, "code system orbis_cim10: its URL in QUERY_UPGRADE_CODE_SYSTEMS is not a string"),
    ],
)
def test_a_malformed_setting_fails_the_queries_that_need_it(settings, setting, reason):
    settings.QUERY_UPGRADE_CODE_SYSTEMS = setting
    result = upgrade_serialized_query(json.dumps(request_query(None, leaf(1, "Condition", "code=E11"))))
    assert (result.outcome, result.reason) == (Outcome.FAILED, reason)


# -------------------------------------------------------------------------------------------- machinery


def test_a_current_query_is_left_as_it_is():
    text = json.dumps(request_query("v1.6.1", leaf(1, "MedicationRequest", "medication=X")))
    result = upgrade_serialized_query(text)
    assert (result.outcome, result.text, result.from_version) == (Outcome.CURRENT, text, "v1.6.1")


def test_every_group_level_is_walked():
    nested = {"_id": -1, "_type": "orGroup", "isInclusive": False, "criteria": [
        leaf(2, "MedicationRequest", "medication=X"),
        {"_id": -2, "_type": "nAmongM", "isInclusive": True, "nAmongMOptions": {"n": 1, "operator": ">="},
         "criteria": [leaf(3, "MedicationAdministration", "medication=Y")]},
    ]}  # fmt: skip
    query = request_query("v1.6.0", leaf(1, "Encounter", "a=b"), nested)
    result = json.loads(upgrade_query(json.dumps(query)))
    group = result["request"]["criteria"][1]
    assert group["criteria"][0]["filterFhir"] == "code=X"
    assert group["criteria"][1]["criteria"][0]["filterFhir"] == "code=Y"
    assert group["criteria"][1]["nAmongMOptions"] == {"n": 1, "operator": ">="}


def test_group_and_leaf_hooks_are_called():
    seen = []
    step = VersionStep(
        target="v9",
        accepts=None,
        leaf_hook=lambda node: seen.append(("leaf", node["_id"])),
        group_hook=lambda node: seen.append(("group", node["_id"])),
    )
    query = request_query(
        "v1", leaf(1, "Patient", ""), {"_id": -1, "_type": "orGroup", "criteria": [leaf(2, "Patient", "")]}
    )
    apply_step(query, step, UpgradeContext(terminology=NO_TERMINOLOGY, code_systems=CodeSystems({})))
    assert seen == [("leaf", 1), ("leaf", 2), ("group", -1), ("group", 0)]


def test_inner_joins_rewrite_every_child_with_their_fhir_filter_key():
    query = {"version": "v1.6.0", "_type": "InnerJoin", "child": [
        {"resourceType": "MedicationRequest", "fhirFilter": "medication=X"},
        {"_type": "InnerJoin", "child": [{"resourceType": "MedicationAdministration", "fhirFilter": "medication=Y"}]},
    ]}  # fmt: skip
    result = upgrade_document(query)
    assert result.outcome is Outcome.UPGRADED
    assert result.query["child"][0]["fhirFilter"] == "code=X"
    assert result.query["child"][1]["child"][0]["fhirFilter"] == "code=Y"
    assert query["child"][0]["fhirFilter"] == "medication=X"  # the input document is not modified


def test_a_fhir_filter_is_upgraded_as_a_resource_query(configured):
    result = upgrade_fhir_filter(resource_type="Composition", filter_text="status=final", version=None)
    assert result.outcome is Outcome.UPGRADED
    assert result.query == {
        "version": "v1.6.1",
        "_type": "resource",
        "resourceType": "DocumentReference",
        "fhirFilter": f"docstatus=final&subject.active=true&{CONTENT_TYPE}",
    }


def test_space_padded_ampersands_are_part_of_the_value():
    query = request_query("v1.5.1", leaf(1, "Encounter", "_text=a && b & c&end-age-visit=ge18"))
    assert upgraded_leaves(query) == {1: ("Encounter", "_text=a && b & c&start-age-visit=ge18")}


def test_value_mappings_see_the_literal_ampersands():
    step = VersionStep(
        target="v9",
        accepts=None,
        values={"Patient": {"_text": ValueMapping(exact={"a & b": "matched"}, otherwise=lambda value, _: "other")}},
    )
    context = UpgradeContext(terminology=NO_TERMINOLOGY, code_systems=CodeSystems({}))
    assert step.rewrite_filter("Patient", "_text=a & b&x=1", context) == "_text=matched&x=1"
    assert step.rewrite_filter("Patient", "_text=c && d", context) == "_text=other"


def test_a_value_containing_an_equal_sign_is_kept_whole():
    query = request_query("v1.6.0", leaf(1, "MedicationRequest", "medication=a=b&&x=1"))
    assert upgraded_leaves(query) == {1: ("MedicationRequest", "code=a=b&x=1")}


@pytest.mark.parametrize("version", ["v9.0.0", "v1.4.6", "turbo2000", "1"])
def test_an_unknown_version_is_skipped_with_its_reason(version):
    text = json.dumps(request_query(version, leaf(1, "MedicationRequest", "medication=X")))
    result = upgrade_serialized_query(text)
    assert (result.outcome, result.text) == (Outcome.SKIPPED, text)
    assert result.reason == f"unknown query format version {version!r}"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ({"version": "v1.6.0", "_type": "oops"}, "unknown query _type 'oops'"),
        (request_query("v1.4.0", leaf(1, "Observation", "code=X&garbage")),
         "Observation filter part 'garbage' is not of the form name=value"),
        (request_query("v1.6.0", {"_id": 1, "filterFhir": "a=b"}), "a criterion has no resourceType"),
        ([1, 2], "the query is not a JSON object"),
    ],
)  # fmt: skip
def test_a_query_that_cannot_be_upgraded_is_left_unchanged(query, reason):
    text = json.dumps(query)
    original = copy.deepcopy(query)
    result = upgrade_serialized_query(text)
    assert (result.outcome, result.reason, result.text) == (Outcome.FAILED, reason, text)
    assert query == original


def test_a_step_that_does_not_accept_the_version_fails_the_query(monkeypatch):
    from cohort.query_versions import upgrade

    stranded = VersionStep(target="v1.6.1", accepts=frozenset({"v1.5.1"}))
    monkeypatch.setattr(upgrade, "STEPS", (*STEPS[:-1], stranded))
    result = upgrade_serialized_query(json.dumps(request_query("v1.6.0", leaf(1, "Patient", "a=b"))))
    assert (result.outcome, result.reason) == (Outcome.FAILED, "step v1.6.1 does not accept version 'v1.6.0'")


def test_unexpected_shapes_fail_with_the_error_as_reason():
    result = upgrade_serialized_query(json.dumps(request_query("v1.6.0", "not a criterion")))
    assert result.outcome is Outcome.FAILED
    assert result.reason.startswith("AttributeError")


def test_invalid_json_and_empty_queries():
    assert upgrade_serialized_query("{not json").outcome is Outcome.FAILED
    assert upgrade_query("{not json") == "{not json"
    assert upgrade_serialized_query("{}").outcome is Outcome.SKIPPED


def test_the_chain_is_ordered_and_each_step_accepts_the_previous_one():
    assert [step.target for step in STEPS] == [
        "v1.3.0", "v1.4.0", "v1.4.1", "v1.4.2", "v1.4.3", "v1.4.4", "v1.4.5", "v1.5.0", "v1.5.1", "v1.6.0", "v1.6.1",
    ]  # fmt: skip
    assert STEPS[0].accepts_version(None)
    assert STEPS[0].accepts_version("v0.1.0")
    for previous, step in itertools.pairwise(STEPS):
        assert step.accepts_version(previous.target), step.target


def test_non_ascii_text_is_kept_readable():
    text = upgrade_query(json.dumps(request_query("v1.6.0", leaf(1, "Observation", "status=Validé"))))
    assert "Validé" in text
