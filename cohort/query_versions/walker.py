"""Applies one step to every criterion of a stored query, whatever the query's `_type` (spec 02 §5.4)."""

from __future__ import annotations

from typing import Any

from cohort.query_versions.step import QueryUpgradeError, UpgradeContext, VersionStep

REQUEST_FILTER_KEY = "filterFhir"
RESOURCE_FILTER_KEY = "fhirFilter"


def apply_step(query: dict[str, Any], step: VersionStep, context: UpgradeContext) -> None:
    """Rewrites `query` in place (its version excepted); raises QueryUpgradeError on a shape it cannot walk.

    `request`: the criteria tree, leaves keyed `filterFhir`; `InnerJoin`: every `child` node (nested joins
    included), keyed `fhirFilter`; `resource`: the query itself is the single filter, keyed `fhirFilter`.
    """
    kind = query.get("_type")
    if kind == "request":
        if query.get("request") is not None:
            _walk_request(query["request"], step, context)
    elif kind == "InnerJoin":
        _walk_join(query, step, context)
    elif kind == "resource":
        step.rewrite_leaf(query, RESOURCE_FILTER_KEY, context)
    else:
        raise QueryUpgradeError(f"unknown query _type {kind!r}")


def _walk_request(node: dict[str, Any], step: VersionStep, context: UpgradeContext) -> None:
    if "criteria" in node:
        for child in node["criteria"] or ():
            _walk_request(child, step, context)
        if step.group_hook is not None:
            step.group_hook(node)
        return
    step.rewrite_leaf(node, REQUEST_FILTER_KEY, context)
    if step.leaf_hook is not None:
        step.leaf_hook(node)


def _walk_join(node: dict[str, Any], step: VersionStep, context: UpgradeContext) -> None:
    for child in node.get("child") or ():
        if child.get("_type") == "InnerJoin":
            _walk_join(child, step, context)
        else:
            step.rewrite_leaf(child, RESOURCE_FILTER_KEY, context)
