"""One step of the query format chain, described by tables (spec 02 §5.4, `QueryRequestUpdater`).

A step rewrites each criterion's FHIR filter (`name=value&name=value`), keyed by the criterion's resource type
*before* the step renames it: parameters in the skip list are dropped, the others renamed (per resource, else
the default mapping `_`) and their values mapped (exact value first, then a catch-all function); then the
resource's required filters are appended and the resource type is renamed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cohort.query_versions.code_systems import CodeSystems
    from cohort.query_versions.terminology import Terminology

DEFAULT_RESOURCE = "_"

# Space-padded ampersands are literal text inside a value (e.g. a free-text search), not separators.
_PROTECTED_LITERALS = ((" && ", "\ue000"), (" & ", "\ue001"))


class QueryUpgradeError(Exception):
    """A stored query that cannot be rewritten; it is left as it is."""


@dataclass(frozen=True)
class UpgradeContext:
    """What the value mappings and required filters may need besides the filter itself."""

    terminology: Terminology
    code_systems: CodeSystems


ValueFunction = Callable[[str, UpgradeContext], str]
# Plain strings are appended when absent; functions get the current list and may return a filter to append.
RequiredFilter = str | Callable[[list[str], UpgradeContext], str | None]
NodeHook = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class ValueMapping:
    exact: Mapping[str, str] = field(default_factory=dict)
    otherwise: ValueFunction | None = None

    def apply(self, value: str, context: UpgradeContext) -> str:
        if value in self.exact:
            return self.exact[value]
        if self.otherwise is not None:
            return self.otherwise(value, context)
        return value


@dataclass(frozen=True)
class VersionStep:
    target: str
    accepts: frozenset[str] | None  # None: a query of any version
    renames: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    dropped: Mapping[str, frozenset[str]] = field(default_factory=dict)
    # Keyed by resource, then by the parameter's name before renaming.
    values: Mapping[str, Mapping[str, ValueMapping]] = field(default_factory=dict)
    # Per resource, else the default entry `_`; an empty list opts a resource out of the default.
    required: Mapping[str, Sequence[RequiredFilter]] = field(default_factory=dict)
    resources: Mapping[str, str] = field(default_factory=dict)
    leaf_hook: NodeHook | None = None
    group_hook: NodeHook | None = None

    def accepts_version(self, version: str | None) -> bool:
        return self.accepts is None or version in self.accepts

    def rewrite_leaf(self, node: dict[str, Any], filter_key: str, context: UpgradeContext) -> None:
        resource = node.get("resourceType")
        if not resource:
            raise QueryUpgradeError("a criterion has no resourceType")
        new_filter = self.rewrite_filter(resource, node.get(filter_key) or "", context)
        if new_filter or filter_key in node:
            node[filter_key] = new_filter
        node["resourceType"] = self.resources.get(resource, resource)

    def rewrite_filter(self, resource: str, text: str, context: UpgradeContext) -> str:
        items = []
        for item in _split_filter(text):
            if not item.strip():
                continue
            name, sep, value = item.partition("=")
            if not sep:
                raise QueryUpgradeError(f"{resource} filter part {item!r} is not of the form name=value")
            if name in self.dropped.get(resource, ()):
                continue
            items.append(f"{self._rename(resource, name)}={self._map_value(resource, name, value, context)}")
        self._add_required(resource, items, context)
        return "&".join(items)

    def _rename(self, resource: str, name: str) -> str:
        for table in (self.renames.get(resource, {}), self.renames.get(DEFAULT_RESOURCE, {})):
            if name in table:
                return table[name]
        return name

    def _map_value(self, resource: str, name: str, value: str, context: UpgradeContext) -> str:
        mapping = self.values.get(resource, {}).get(name)
        return value if mapping is None else mapping.apply(value, context)

    def _add_required(self, resource: str, items: list[str], context: UpgradeContext) -> None:
        required_filters = self.required.get(resource, self.required.get(DEFAULT_RESOURCE, ()))
        for required in required_filters:
            if callable(required):
                extra = required(list(items), context)
                if extra:
                    items.append(extra)
            elif required not in items:
                items.append(required)


def _split_filter(text: str) -> list[str]:
    text = text.strip()
    for literal, token in _PROTECTED_LITERALS:
        text = text.replace(literal, token)
    items = text.split("&")
    for literal, token in _PROTECTED_LITERALS:
        items = [item.replace(token, literal) for item in items]
    return items


def add_if_parameter_absent(name: str, value: str) -> Callable[[list[str], UpgradeContext], str | None]:
    """A required filter added only when no filter on `name` exists yet, whatever its value."""

    def required(items: list[str], context: UpgradeContext) -> str | None:
        return None if any(item.partition("=")[0] == name for item in items) else f"{name}={value}"

    return required
