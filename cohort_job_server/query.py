"""The request JSON as the QueryExecutor receives it: parsed, checked and re-serialised (spec 02 §5.2).

The reference parses the front-end's `serialized_query` into typed models and dumps them again, so the
QueryExecutor sees a canonical form: known keys only, in the models' order (spec 03 §2.2 "Key order"), no
nulls, absent lists as `[]`, perimeter ids as integers and the job's `instance_id` on top. We reproduce
that form with a small declarative schema; a value of the wrong type fails the job with the path of the
offending key instead of a validation dump.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from cohort.job_server import JobServerError

Convert = Callable[[Any, str], Any]
"""Normalises one value found at a path (for error messages); raises JobServerError."""

BASIC_RESOURCE = "basicResource"
CRITERIA_TYPES = ("basicResource", "andGroup", "orGroup", "nAmongM", "request")
RESOURCE_TYPES = (
    "Patient",
    "Condition",
    "Composition",
    "Claim",
    "Procedure",
    "Specimen",
    "Observation",
    "Encounter",
    "MedicationRequest",
    "MedicationAdministration",
    "DocumentReference",
    "ImagingStudy",
    "QuestionnaireResponse",
    "IPPList",
)


def _invalid(path: str, problem: str, value: Any = None) -> JobServerError:
    shown = "" if value is None else f" (got {json.dumps(value, default=str)[:60]})"
    return JobServerError(f"Invalid query: {path} {problem}{shown}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _string(value: Any, path: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _invalid(path, "must be a string", value)


def _integer(value: Any, path: str) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise _invalid(path, "must be an integer", value)


def _boolean(value: Any, path: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _invalid(path, "must be true or false", value)


def _any_list(value: Any, path: str) -> list:
    if not isinstance(value, list):
        raise _invalid(path, "must be a list", value)
    return value


def _list_of(convert: Convert) -> Convert:
    def convert_list(value: Any, path: str) -> list:
        return [convert(item, f"{path}[{i}]") for i, item in enumerate(_any_list(value, path))]

    return convert_list


def _choice(choices: tuple[str, ...], what: str, *, ignore_case: bool = False) -> Convert:
    canonical = {(c.lower() if ignore_case else c): c for c in choices}

    def convert_choice(value: Any, path: str) -> str:
        key = value.lower() if ignore_case and isinstance(value, str) else value
        if not isinstance(key, str) or key not in canonical:
            raise _invalid(path, f"is not a known {what}", value)
        return canonical[key]

    return convert_choice


def _uuid(value: Any, path: str) -> str:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        raise _invalid(path, "must be a UUID", value) from None


@dataclass(frozen=True)
class _Field:
    key: str
    convert: Convert
    required: bool = False
    is_list: bool = False  # absent or null becomes []


def _model(*fields: _Field) -> Convert:
    def convert_model(value: Any, path: str) -> dict:
        if not isinstance(value, dict):
            raise _invalid(path or "the query", "must be a JSON object", value)
        normalised = {}
        for field in fields:
            item = value.get(field.key)
            if item is not None:
                normalised[field.key] = field.convert(item, _join(path, field.key))
            elif field.required:
                raise _invalid(_join(path, field.key), "is required")
            elif field.is_list:
                normalised[field.key] = []
        return normalised

    return convert_model


def _lazy(get: Callable[[], Convert]) -> Convert:
    """For the recursive criteria tree: the converter is looked up when used, once it exists."""
    return lambda value, path: get()(value, path)


_date_range = _model(
    _Field("minDate", _string),
    _Field("maxDate", _string),
    _Field("datePreference", _any_list),
    _Field("dateIsNotNull", _boolean),
)
_patient_age = _model(
    _Field("minAge", _string),
    _Field("maxAge", _string),
    _Field("dateIsNotNull", _boolean),
    _Field("datePreference", _any_list),
)
_occurrence = _model(
    _Field("n", _integer, required=True),
    _Field("operator", _string, required=True),
    _Field("timeDelayMin", _string),
    _Field("timeDelayMax", _string),
    _Field("sameEncounter", _boolean),
    _Field("sameDay", _boolean),
)
_n_among_m = _model(_Field("n", _integer, required=True), _Field("operator", _string, required=True))
_duration = _model(*(_Field(unit, _integer) for unit in ("years", "months", "days", "hours", "minutes", "seconds")))
_temporal_constraint = _model(
    _Field("idList", _any_list),
    _Field("constraintType", _string),
    _Field("datePreferenceList", _any_list),
    _Field("timeRelationMinDuration", _duration),
    _Field("timeRelationMaxDuration", _duration),
    _Field("occurrenceChoiceList", _any_list),
    _Field("dateIsNotNullList", _any_list),
    _Field("filteredCriteriaIdList", _any_list),
)
_resource_type = _choice(RESOURCE_TYPES, "resource type", ignore_case=True)
_criteria_type = _choice(CRITERIA_TYPES, "criterion type")
_criterion: Convert = _model(
    _Field("_type", _criteria_type),
    _Field("_id", _integer),
    _Field("isInclusive", _boolean),
    _Field("resourceType", _resource_type),
    _Field("filterSolr", _string),
    _Field("filterFhir", _string),
    _Field("patientAge", _patient_age),
    _Field("criteria", _list_of(_lazy(lambda: _criterion)), is_list=True),
    _Field("occurrence", _occurrence),
    _Field("dateRange", _date_range),
    _Field("dateRangeList", _list_of(_date_range), is_list=True),
    _Field("encounterDateRange", _date_range),
    _Field("temporalConstraints", _list_of(_temporal_constraint), is_list=True),
    _Field("nAmongMOptions", _n_among_m),
)
CRITERION_KEYS = (
    "_type",
    "_id",
    "isInclusive",
    "resourceType",
    "filterSolr",
    "filterFhir",
    "patientAge",
    "criteria",
    "occurrence",
    "dateRange",
    "dateRangeList",
    "encounterDateRange",
    "temporalConstraints",
    "nAmongMOptions",
)
_source_population = _model(_Field("caresiteCohortList", _list_of(_integer), is_list=True))
_query = _model(
    _Field("instance_id", _uuid),
    _Field("cohortName", _string),
    _Field("sourcePopulation", _source_population, required=True),
    _Field("resourceType", _resource_type),
    _Field("_type", _criteria_type),
    _Field("request", _criterion),
    _Field("temporalConstraints", _list_of(_temporal_constraint), is_list=True),
)


def normalise(serialized_query: str, *, instance_id: str, source_population: list[str] | None = None) -> dict:
    """The query in the QueryExecutor's canonical form, as a dict in key order.

    `source_population` (perimeter cohort ids) replaces the query's own, for jobs over the whole hospital.
    """
    try:
        data = json.loads(serialized_query)
    except (TypeError, ValueError) as error:
        raise JobServerError(f"Invalid query: the serialized query is not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise _invalid("the query", "must be a JSON object", data)
    data = {**data, "instance_id": instance_id}
    if source_population is not None:
        data["sourcePopulation"] = {"caresiteCohortList": list(source_population)}
    return _query(data, "")


def basic_resources(query: dict) -> Iterator[dict]:
    """The leaves that the FHIR server translates, in tree order; a leaf's own `criteria` are not leaves."""

    def walk(node: dict) -> Iterator[dict]:
        if node.get("_type") == BASIC_RESOURCE:
            yield node
            return
        for child in node.get("criteria", []):
            yield from walk(child)

    if "request" in query:
        yield from walk(query["request"])


def set_filter_solr(leaf: dict, filter_solr: str | None) -> None:
    """Sets (or, for None, removes) a leaf's `filterSolr`, keeping the canonical key order."""
    leaf.pop("filterSolr", None)
    if filter_solr is not None:
        leaf["filterSolr"] = filter_solr
    ordered = {key: leaf[key] for key in CRITERION_KEYS if key in leaf}
    leaf.clear()
    leaf.update(ordered)


_LEGACY_LISTS = ((["All"], "all"), ([True], True), ([False], False))


def _legacy_scalars(value: Any) -> Any:
    """The reference rewrites the serialised text: `["All"]` -> `"all"`, `[true]` -> `true`, `[false]` -> `false`.

    Doing it on values rather than on text gives the same JSON, except that a string which happens to contain
    `[true]` (a Solr filter, say) is left intact.
    """
    for legacy, scalar in _LEGACY_LISTS:
        if isinstance(value, list) and len(value) == 1 and type(value[0]) is type(legacy[0]) and value == legacy:
            return scalar
    if isinstance(value, list):
        return [_legacy_scalars(item) for item in value]
    if isinstance(value, dict):
        return {key: _legacy_scalars(item) for key, item in value.items()}
    return value


def dumps(query: dict) -> str:
    """Compact JSON of a normalised query that `normalise` reads back unchanged (to store a translation)."""
    return json.dumps(query, separators=(",", ":"), ensure_ascii=False)


def serialise(query: dict) -> str:
    """The compact JSON text of a normalised query, as sent inside `cohortDefinitionSyntax`."""
    return dumps(_legacy_scalars(query))
