"""Saving a new version of a request's query (spec 02 §3.4, §4.5)."""

from __future__ import annotations

import json

from django.db import transaction

from admin_cohort.lookups import one_or_none
from cohort.models import Request, RequestQuerySnapshot
from cohort.services.errors import Refused

PERIMETERS_ERROR = "Error extracting perimeters ids from JSON query - {reason}"


def perimeters_ids(serialized_query: str) -> list[str]:
    """`sourcePopulation.caresiteCohortList` of the query: the cohort ids of its perimeters (numeric strings)."""
    try:
        query = json.loads(serialized_query)
    except ValueError as error:
        raise Refused(PERIMETERS_ERROR.format(reason=error)) from None
    source = query.get("sourcePopulation") if isinstance(query, dict) else None
    ids = source.get("caresiteCohortList") if isinstance(source, dict) else None
    if not isinstance(ids, list):
        raise Refused(PERIMETERS_ERROR.format(reason="sourcePopulation.caresiteCohortList must be a list"))
    for item in ids:
        if not (isinstance(item, str) and item.isascii() and item.isdigit()):
            reason = f"caresiteCohortList must only hold numeric strings, found {json.dumps(item)}"
            raise Refused(PERIMETERS_ERROR.format(reason=reason))
    return ids


@transaction.atomic
def create_snapshot(
    *,
    owner,
    serialized_query: object,
    request: Request | None,
    previous_snapshot: RequestQuerySnapshot | None,
) -> RequestQuerySnapshot:
    """A new version: the first one names its request, every later one the version it derives from.

    `request` and `previous_snapshot` are already known to belong to `owner`. The checks come in the
    reference's order, so that a client sees the same message for the same mistake.
    """
    if previous_snapshot is not None:
        if request is not None and request.pk != previous_snapshot.request_id:
            raise Refused("The provided request is different from the previous_snapshot's request")
        request = previous_snapshot.request
    elif request is None:
        raise Refused("Neither `previous_snapshot` nor `request` were provided")
    # Serialises concurrent saves of one request, which would otherwise get the same version number.
    one_or_none(Request.objects.select_for_update().filter(pk=request.pk))
    if previous_snapshot is None and RequestQuerySnapshot.objects.filter(request=request).exists():
        raise Refused("Must provide a `previous_snapshot` if the request already has snapshots")
    if not isinstance(serialized_query, str):
        raise Refused("serialized_query is required")
    perimeters = perimeters_ids(serialized_query)
    return RequestQuerySnapshot.objects.create(
        owner=owner,
        request=request,
        previous_snapshot=previous_snapshot,
        serialized_query=serialized_query,
        perimeters_ids=perimeters,
        version=RequestQuerySnapshot.objects.filter(request=request).count() + 1,
    )
