"""v1.5.0 (date options become filters on the resource's date field) and v1.5.1 (Encounter `_filter` fix).

Spec 02 §5.4, table rows v1.5.0 and v1.5.1 and the date-field table below them.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from cohort.query_versions.step import ValueMapping, VersionStep
from cohort.query_versions.walker import REQUEST_FILTER_KEY

_logger = logging.getLogger("info")

DATE_FIELDS = {
    "Condition": "recorded-date",
    "Procedure": "date",
    "Claim": "created",
    "DocumentReference": "date",
    "MedicationRequest": "validity-period-start",
    "MedicationAdministration": "effective-time",
    "ImagingStudy": "started",
    "Observation": "date",
    "QuestionnaireResponse": "authored",
    "Encounter": "period-start",
}
ENCOUNTER_DATE_FIELDS = {resource: "encounter.period-start" for resource in DATE_FIELDS} | {
    "MedicationAdministration": "context.period-start"
}


def date_filter(date_range: dict[str, Any], field: str) -> str | None:
    """The filter equivalent to one date option, None when the option has no bound.

    When dates may be missing (`dateIsNotNull` absent or true) the bounds go into a URL-encoded `_filter`
    expression that also keeps the resources without a date; otherwise they are plain search parameters.
    Our reading where the spec shows both bounds: an option with one bound gives that bound only.
    """
    allow_missing = date_range.get("dateIsNotNull") is None or bool(date_range["dateIsNotNull"])
    bounds = [(op, date_range.get(key)) for op, key in (("gt", "minDate"), ("lt", "maxDate"))]
    bounds = [(op, value) for op, value in bounds if value]
    if not bounds:
        return None
    if not allow_missing:
        return "&".join(f"{field}={op}{value}" for op, value in bounds)
    condition = " and ".join(f"{field} {op} {value}" for op, value in bounds)
    return "_filter=" + quote(f'({condition}) or not ({field} eq "*")')


def date_options_to_filters(leaf: dict[str, Any]) -> None:
    """Appends the filters of `dateRangeList` then `encounterDateRange`; the options themselves stay in place.

    Our choices where the spec is silent: a null option is ignored, and a resource without a date field keeps
    its options as they are (logged).
    """
    resource = leaf.get("resourceType")
    options = [(date_range, DATE_FIELDS) for date_range in leaf.get("dateRangeList") or ()]
    options.append((leaf.get("encounterDateRange"), ENCOUNTER_DATE_FIELDS))
    for date_range, fields in options:
        if not isinstance(date_range, dict):
            continue
        if resource not in fields:
            _logger.warning("Query upgrade v1.5.0: %s has no date field, its date options are kept as is", resource)
            continue
        extra = date_filter(date_range, fields[resource])
        if extra:
            current = leaf.get(REQUEST_FILTER_KEY) or ""
            leaf[REQUEST_FILTER_KEY] = f"{current}&{extra}" if current.strip() else extra


V1_5_0 = VersionStep(target="v1.5.0", accepts=frozenset({"v1.4.5"}), leaf_hook=date_options_to_filters)

V1_5_1 = VersionStep(
    target="v1.5.1",
    accepts=frozenset({"v1.5.0"}),
    values={"Encounter": {"_filter": ValueMapping(otherwise=lambda value, _: value.replace("encounter.", ""))}},
)
