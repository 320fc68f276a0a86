"""FHIR -> Solr translation of a query's criteria by the FHIR server's `$query` operation (spec 02 §5.3, 03 §5).

Each `basicResource` leaf's `filterFhir` is sent to `GET {FHIR_URL}/{Resource}/$query` with the end user's
credentials; the `fq` of the answered `Parameters` becomes the leaf's `filterSolr`. The leaves are
translated in parallel (the reference calls them one after the other, which made large queries slow).

Pseudonymisation: when the owner may read only pseudonymised data on the query's perimeters, every
translation (and its validation search) carries the extra search parameter
`meta.security=http://terminology.hl7.org/CodeSystem/v3-ObservationValue|PSEUDED`. The FHIR server turns it
into a Solr filter clause, so the QueryExecutor only ever matches pseudonymised resources. (The reference
computed the same flag but only logged the enriched filter, so it had no effect.)
"""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import unquote

import requests
from django.conf import settings

from admin_cohort import request_context
from admin_cohort.http import http_session
from cohort.job_server import AuthHeaders, JobServerError
from cohort_job_server.client import timed_out
from cohort_job_server.pseudonymisation import PSEUDONYMISED
from cohort_job_server.query import basic_resources, set_filter_solr

IDENTIFIER_VALUE = "identifier.value"
IPP_LIST = "IPPList"
# Enough to overlap a query's FHIR round-trips without flooding the FHIR server from one job.
MAX_PARALLEL_TRANSLATIONS = 8
_SOLR_SPECIAL = set('+-&|!(){}[]^"~*?:\\/ ')

Params = list[tuple[str, str]]


@dataclass(frozen=True)
class _Leaf:
    label: str  # names the criterion in error messages
    resource: str
    params: Params
    ipp_filter: str | None = None


def translate_criteria(query: dict, *, auth: AuthHeaders, pseudonymised: bool) -> None:
    """Sets `filterSolr` on every leaf of a normalised query; raises JobServerError naming the first failing leaf."""
    leaves = list(basic_resources(query))
    if not leaves:
        return
    if not settings.FHIR_URL:
        raise JobServerError("Criteria cannot be translated for Solr: FHIR_URL is not set")
    translations = [_prepare(leaf, pseudonymised) for leaf in leaves]
    headers = _headers(auth)
    pool = ThreadPoolExecutor(max_workers=min(MAX_PARALLEL_TRANSLATIONS, len(leaves)), thread_name_prefix="fhir")
    try:
        futures = [pool.submit(_translate, leaf, headers) for leaf in translations]
        filters = [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for leaf, filter_solr in zip(leaves, filters, strict=True):
        set_filter_solr(leaf, filter_solr)


def _headers(auth: AuthHeaders) -> dict[str, str]:
    # Worker threads do not inherit the context variables: the trace id is fixed here, once per job.
    context_trace_id = request_context.trace_id.get()
    headers = {"X-Trace-Id": auth.trace_id or (context_trace_id if context_trace_id != "-" else str(uuid.uuid4()))}
    if auth.authorization:
        headers["Authorization"] = auth.authorization
    if auth.authorization_method:
        headers["AUTHORIZATIONMETHOD"] = auth.authorization_method
    return headers


def parse_filter(filter_fhir: str, label: str) -> Params:
    """`key=value&…` with URL-encoded values, as the query builder writes it; repeated keys stay repeated."""
    params = []
    for part in filter_fhir.split("&"):
        if not part:
            continue
        key, separator, value = part.partition("=")
        if not separator or not key:
            raise JobServerError(f"Cannot translate {label}: malformed filter part {part!r} (expected key=value)")
        if "=" in value:
            raise JobServerError(
                f"Cannot translate {label}: the value of {key!r} contains a raw '=' (it must be URL-encoded as %3D)"
            )
        params.append((key, unquote(value)))
    return params


def _solr_escaped(token: str) -> str:
    return "".join(f"\\{char}" if char in _SOLR_SPECIAL else char for char in token)


def _prepare(leaf: dict, pseudonymised: bool) -> _Leaf:
    resource = leaf.get("resourceType")
    label = f"criterion {leaf.get('_id')} ({resource})"
    if not resource:
        raise JobServerError(f"Cannot translate criterion {leaf.get('_id')}: it has no resourceType")
    params = parse_filter(leaf.get("filterFhir") or "", label)
    ipp_filter = None
    if resource == IPP_LIST:
        # Only the identifier parts are patient ids (the reference glued every part of the filter together).
        values = [value for key, value in params if key == IDENTIFIER_VALUE]
        ids = [token.strip() for value in values for token in value.split(",") if token.strip()]
        if not ids:
            raise JobServerError(f"Cannot translate {label}: the list has no patient identifier ({IDENTIFIER_VALUE})")
        params = [(key, value) for key, value in params if key != IDENTIFIER_VALUE]
        ipp_filter = f"fq={IDENTIFIER_VALUE}:({' '.join(_solr_escaped(token) for token in ids)})"
        resource = "Patient"
    if pseudonymised:
        params = [PSEUDONYMISED, *params]
    return _Leaf(label=label, resource=resource, params=params, ipp_filter=ipp_filter)


def _translate(leaf: _Leaf, headers: dict[str, str]) -> str | None:
    base_url = settings.FHIR_URL.rstrip("/")
    with http_session(timeout=settings.JOB_SERVER_TIMEOUT_SECONDS) as session:
        if settings.TEST_FHIR_QUERIES:
            # `$query` does not check its parameters: a real search (no results wanted) does.
            _get(session, f"{base_url}/{leaf.resource}", [*leaf.params, ("_count", "0")], headers, leaf, "search")
        response = _get(session, f"{base_url}/{leaf.resource}/$query", leaf.params, headers, leaf, "translation")
    fq = _fq_of(response, leaf)
    if leaf.ipp_filter is None:
        return fq
    return f"{fq}&{leaf.ipp_filter}" if fq else leaf.ipp_filter


def _get(session: requests.Session, url: str, params: Params, headers: dict, leaf: _Leaf, what: str):
    try:
        response = session.get(url, params=params, headers=headers)
    except requests.RequestException as error:
        if timed_out(error):
            reason = f"did not answer within {settings.JOB_SERVER_TIMEOUT_SECONDS} seconds"
        else:
            reason = "could not be reached"
        raise JobServerError(f"The FHIR server {reason} (the {what} of {leaf.label})") from None
    if not 200 <= response.status_code < 300:
        hint = " - the user's session may have expired" if response.status_code == 401 else ""
        raise JobServerError(f"The FHIR server refused the {what} of {leaf.label}: HTTP {response.status_code}{hint}")
    return response


def _fq_of(response: requests.Response, leaf: _Leaf) -> str | None:
    """The first `fq` parameter of a FHIR `Parameters` resource; None when there is none."""
    try:
        payload = response.json()
    except ValueError:
        payload = None
    parameters = payload.get("parameter") if isinstance(payload, dict) else None
    if (
        not isinstance(payload, dict)
        or payload.get("resourceType") != "Parameters"
        or not isinstance(parameters, list)
        or not parameters
        or not all(isinstance(p, dict) and isinstance(p.get("name"), str) for p in parameters)
    ):
        raise JobServerError(
            f"The FHIR server answered the translation of {leaf.label} without a valid Parameters resource"
        )
    fq = next((p.get("valueString") for p in parameters if p["name"] == "fq"), None)
    if fq is not None and not isinstance(fq, str):
        raise JobServerError(f"The FHIR server answered the translation of {leaf.label} with a non-text fq")
    return fq
