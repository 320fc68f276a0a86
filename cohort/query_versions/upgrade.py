"""Brings a stored query (or a saved FHIR filter) from its format version up to the latest one.

Every step after the query's version is applied in turn, each one checking that it accepts the version left
by the previous one. A query that is current is left alone; a query of a version the chain does not know
(newer than the latest, or not a version) is skipped; a query that cannot be rewritten (unknown shape,
malformed filter, a code system that is not configured, …) fails and is left unchanged. Our choice where the
spec is silent: a query without a version, or with one older than the first step's, is a legacy query and
goes through the whole chain (the first step accepts any version).
"""

from __future__ import annotations

import copy
import enum
import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cohort.query_versions.code_systems import CodeSystems
from cohort.query_versions.step import QueryUpgradeError, UpgradeContext, VersionStep
from cohort.query_versions.steps import LATEST_VERSION, STEPS
from cohort.query_versions.terminology import NO_TERMINOLOGY, Terminology
from cohort.query_versions.walker import RESOURCE_FILTER_KEY, apply_step

_logger = logging.getLogger("info")

# Queries written before versioning carry no version, or one older than the first step's.
_FIRST_VERSIONED = (1, 3, 0)
_VERSION = re.compile(r"v?(\d+)\.(\d+)\.(\d+)")


class Outcome(enum.StrEnum):
    UPGRADED = "upgraded"
    CURRENT = "already current"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class UpgradeResult:
    outcome: Outcome
    from_version: str | None
    query: Any  # the upgraded document when UPGRADED, the original one otherwise (None if unreadable)
    reason: str = ""


@dataclass(frozen=True)
class TextUpgradeResult(UpgradeResult):
    text: str = ""  # the new text when UPGRADED, the original text otherwise


def upgrade_document(
    query: Any, *, terminology: Terminology = NO_TERMINOLOGY, code_systems: Mapping[str, str] | None = None
) -> UpgradeResult:
    """Applies every step after the query's version; `query` itself is never modified.

    `code_systems`: URLs by code-system name (see `code_systems`); by default the setting
    QUERY_UPGRADE_CODE_SYSTEMS.
    """
    if not isinstance(query, dict):
        return _failed(query, None, "the query is not a JSON object")
    if not query:
        return _skipped(query, None, "empty query")
    version = query.get("version")
    if version == LATEST_VERSION:
        return UpgradeResult(Outcome.CURRENT, version, query)
    pending = _steps_after(version)
    if pending is None:
        return _skipped(query, version, f"unknown query format version {version!r}")
    upgraded = copy.deepcopy(query)
    systems = CodeSystems.from_settings() if code_systems is None else CodeSystems(code_systems)
    context = UpgradeContext(terminology=terminology, code_systems=systems)
    try:
        for step in pending:
            if not step.accepts_version(upgraded.get("version")):
                raise QueryUpgradeError(f"step {step.target} does not accept version {upgraded.get('version')!r}")
            apply_step(upgraded, step, context)
            upgraded["version"] = step.target
    except QueryUpgradeError as error:
        return _failed(query, version, str(error))
    except Exception as error:  # a bulk tool must not stop on one malformed row: it is reported instead
        _logger.exception("Query upgrade from %r failed", version)
        return _failed(query, version, f"{type(error).__name__}: {error}")
    return UpgradeResult(Outcome.UPGRADED, version, upgraded)


def upgrade_serialized_query(
    text: str, *, terminology: Terminology = NO_TERMINOLOGY, code_systems: Mapping[str, str] | None = None
) -> TextUpgradeResult:
    try:
        query = json.loads(text)
    except (TypeError, ValueError) as error:
        result = _failed(None, None, f"invalid JSON: {error}")
    else:
        result = upgrade_document(query, terminology=terminology, code_systems=code_systems)
    new_text = json.dumps(result.query, ensure_ascii=False) if result.outcome is Outcome.UPGRADED else text
    return TextUpgradeResult(result.outcome, result.from_version, result.query, result.reason, text=new_text)


def upgrade_query(
    text: str, *, terminology: Terminology = NO_TERMINOLOGY, code_systems: Mapping[str, str] | None = None
) -> str:
    """The query text at the latest version; the same text when it is current, skipped or cannot be upgraded."""
    return upgrade_serialized_query(text, terminology=terminology, code_systems=code_systems).text


def upgrade_fhir_filter(
    *,
    resource_type: str,
    filter_text: str,
    version: str | None,
    terminology: Terminology = NO_TERMINOLOGY,
    code_systems: Mapping[str, str] | None = None,
) -> UpgradeResult:
    """A saved FHIR filter upgraded as a query of `_type` `resource`: read `resourceType`, `fhirFilter` and
    `version` from the result's query."""
    query = {"version": version, "_type": "resource", "resourceType": resource_type, RESOURCE_FILTER_KEY: filter_text}
    return upgrade_document(query, terminology=terminology, code_systems=code_systems)


def _steps_after(version: str | None) -> tuple[VersionStep, ...] | None:
    targets = [step.target for step in STEPS]
    if version in targets:
        return STEPS[targets.index(version) + 1 :]
    if version is None:
        return STEPS
    match = _VERSION.fullmatch(str(version))
    if match and tuple(int(part) for part in match.groups()) < _FIRST_VERSIONED:
        return STEPS
    return None


def _skipped(query: Any, version: str | None, reason: str) -> UpgradeResult:
    _logger.info("Query upgrade skipped: %s", reason)
    return UpgradeResult(Outcome.SKIPPED, version, query, reason)


def _failed(query: Any, version: str | None, reason: str) -> UpgradeResult:
    _logger.warning("Query upgrade failed, the query is left unchanged: %s", reason)
    return UpgradeResult(Outcome.FAILED, version, query, reason)
