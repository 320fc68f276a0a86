"""Jobs of owners who read only pseudonymised data match only pseudonymised resources (spec 02 §5.3, §11.3).

The restriction is the FHIR search parameter below. With Solr it is sent with every criterion's translation
(`solr.py`), so the FHIR server folds it into `filterSolr`; without Solr the QueryExecutor resolves the
criteria's `filterFhir` itself, so it is prefixed to each of them.
"""

from __future__ import annotations

from cohort_job_server.query import basic_resources

PSEUDONYMISED = ("meta.security", "http://terminology.hl7.org/CodeSystem/v3-ObservationValue|PSEUDED")
_PARAMETER = "=".join(PSEUDONYMISED)


def restrict_fhir_filters(query: dict) -> None:
    """Prefixes the restriction to every leaf's `filterFhir` of a normalised query (once)."""
    for leaf in basic_resources(query):
        fhir_filter = leaf.get("filterFhir") or ""
        if _PARAMETER in fhir_filter.split("&"):
            continue
        leaf["filterFhir"] = f"{_PARAMETER}&{fhir_filter}" if fhir_filter else _PARAMETER
