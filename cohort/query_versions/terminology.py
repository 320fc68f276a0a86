"""Code translations of the v1.4.x steps and the terminology they look codes up in (spec 02 §5.4).

The spec has the steps translate codes "via the terminology database" (ORBIS ATC -> ATC, ORBIS CCAM -> ATIH,
ORBIS CIM-10 -> national CIM-10). This project has no such database, so the lookup is pluggable: pass a
`Terminology` to the upgrade functions. Without one (`NO_TERMINOLOGY`, the default) every lookup misses and
the spec's not-found fallbacks apply:

* ATC (v1.4.0, v1.4.1, v1.4.3): "fallback to UCD/ORBIS systems" — read here as: the code is kept, in the UCD
  system when the terminology knows it as a UCD code, in the ORBIS ATC system otherwise;
* CCAM (v1.4.2) and CIM-10 (v1.4.4): `<target system>|NON RENSEIGNE`.

Systems are identified by their URLs (see `code_systems`). Every rewrite stays reversible through the
snapshots' patch history.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

WILDCARD = "*"
SYSTEM_SEPARATOR = "|"


class Terminology(Protocol):
    def map_code(self, code: str, *, source_system: str, target_system: str) -> str | None:
        """The bare code of `target_system` that `code` of `source_system` maps to, or None if unknown."""

    def has_code(self, code: str, *, system: str) -> bool:
        """Whether `code` is a code of `system`."""


class _NoTerminology:
    def map_code(self, code: str, *, source_system: str, target_system: str) -> str | None:
        return None

    def has_code(self, code: str, *, system: str) -> bool:
        return False


NO_TERMINOLOGY: Terminology = _NoTerminology()


class InMemoryTerminology:
    """Mappings keyed by (source system, source code, target system), and known codes as (system, code)."""

    def __init__(
        self, mappings: Mapping[tuple[str, str, str], str], codes: frozenset[tuple[str, str]] = frozenset()
    ) -> None:
        self._mappings = dict(mappings)
        self._codes = frozenset(codes)

    def map_code(self, code: str, *, source_system: str, target_system: str) -> str | None:
        return self._mappings.get((source_system, code, target_system))

    def has_code(self, code: str, *, system: str) -> bool:
        return (system, code) in self._codes


def has_system(code: str) -> bool:
    """Whether a code carries a code-system prefix (`<system>|<code>`)."""
    return SYSTEM_SEPARATOR in code


def map_code_list(value: str, translate: Callable[[str], str]) -> str:
    """Codes of a filter value are comma-separated (FHIR "or"); each one is translated on its own."""
    return ",".join(translate(code) if code else code for code in value.split(","))


def translate_code(
    code: str,
    *,
    source_system: str,
    target_system: str,
    terminology: Terminology,
    fallback: Callable[[str], str],
) -> str:
    """`target_system|<mapped code>`, or `fallback(bare code)` when the terminology does not know the code.

    A code of `source_system` may be bare or prefixed with it. Our choices where the spec says nothing: a code
    already in the target system, or in a third system, is kept as it is, and the "every code" wildcard stays
    a wildcard (`target|*`) instead of being looked up.
    """
    if code.startswith(f"{target_system}{SYSTEM_SEPARATOR}"):
        return code
    bare = code.removeprefix(f"{source_system}{SYSTEM_SEPARATOR}")
    if has_system(bare):
        return code
    if bare == WILDCARD:
        return f"{target_system}{SYSTEM_SEPARATOR}{WILDCARD}"
    mapped = terminology.map_code(bare, source_system=source_system, target_system=target_system)
    return f"{target_system}{SYSTEM_SEPARATOR}{mapped}" if mapped is not None else fallback(bare)
