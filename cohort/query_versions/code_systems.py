"""The code systems the format steps name, and their URLs (deployment configuration).

Spec 02 §5.4 names the systems (ORBIS code systems, ATC, UCD, the ATIH CCAM system, the national CIM-10 system,
the system of `contenttype=…|text/plain`) but gives no URL, so every URL comes from the setting
`QUERY_UPGRADE_CODE_SYSTEMS`, a mapping `{name: URL}` read from the environment variable of the same name
(a JSON object). A step that needs a system which is not configured fails the query, which is left unchanged:
no URL is ever guessed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings

from cohort.query_versions.step import QueryUpgradeError

SETTING = "QUERY_UPGRADE_CODE_SYSTEMS"

# Names of the systems, the keys of the setting.
ORBIS_CIM10 = "orbis_cim10"  # Condition codes: prefixed by v1.3.0, source of the v1.4.4 translation
ORBIS_CCAM = "orbis_ccam"  # Procedure codes: prefixed by v1.3.0, source of the v1.4.2 translation
ORBIS_ATC = "orbis_atc"  # medication codes: source of the v1.4.0 ATC translation, and its fallback
UCD = "ucd"  # medication codes: the other fallback of the ATC translation
ATC = "atc"  # target of the ATC translation (v1.4.0, v1.4.1, v1.4.3)
ATIH_CCAM = "atih_ccam"  # target of the CCAM translation (v1.4.2)
CIM10 = "cim10"  # national CIM-10 system, target of the CIM-10 translation (v1.4.4)
CONTENT_TYPE = "contenttype"  # system of the `contenttype=<system>|text/plain` filter (v1.4.0)

NAMES = (ORBIS_CIM10, ORBIS_CCAM, ORBIS_ATC, UCD, ATC, ATIH_CCAM, CIM10, CONTENT_TYPE)


class CodeSystems:
    """URLs by system name. Checked when a URL is asked for, so a query that needs no system never fails."""

    def __init__(self, urls: Any) -> None:
        self._urls = urls

    @classmethod
    def from_settings(cls) -> CodeSystems:
        return cls(getattr(settings, SETTING, None) or {})

    def url(self, name: str) -> str:
        if not isinstance(self._urls, Mapping):
            raise QueryUpgradeError(f"{SETTING} must be a JSON object of code-system names to URLs")
        url = self._urls.get(name)
        if url is None or (isinstance(url, str) and not url.strip()):
            raise QueryUpgradeError(f"code system {name} is not configured (setting {SETTING})")
        if not isinstance(url, str):
            raise QueryUpgradeError(f"code system {name}: its URL in {SETTING} is not a string")
        return url.strip()
