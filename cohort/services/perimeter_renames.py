"""Saved queries follow their perimeters: cohort ids renamed by a perimeter sync (spec 01 §15 step 6)."""

from __future__ import annotations

import json
import logging
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import Q

from cohort.models import CohortResult, RequestQuerySnapshot

_logger = logging.getLogger("info")


@transaction.atomic
def rewrite_snapshots(changes: dict[str, str]) -> int:
    """Replaces old perimeter cohort ids by new ones in every snapshot's query and `perimeters_ids`.

    Snapshots are saved one by one, so each rewrite lands in the query history and can be undone.
    """
    changes = {str(old): str(new) for old, new in changes.items() if str(old) != str(new)}
    if not changes:
        return 0
    # A cheap text prefilter, then an exact check on the parsed query (works on SQLite and PostgreSQL).
    candidates = RequestQuerySnapshot.all_objects.filter(
        reduce(or_, (Q(serialized_query__contains=old) for old in changes))
    )
    rewritten = 0
    for snapshot in candidates.select_for_update():
        try:
            query = json.loads(snapshot.serialized_query)
            population = query["sourcePopulation"]["caresiteCohortList"]
        except (ValueError, KeyError, TypeError):
            continue
        renamed = [changes.get(str(item), str(item)) for item in population]
        if renamed == [str(item) for item in population]:
            continue
        query["sourcePopulation"]["caresiteCohortList"] = renamed
        snapshot.serialized_query = json.dumps(query)
        snapshot.perimeters_ids = renamed
        snapshot.save(update_fields=["serialized_query", "perimeters_ids", "modified_at"])
        rewritten += 1
    _logger.info("Perimeter cohort ids %s rewritten in %d saved queries", changes, rewritten)
    return rewritten


def perimeters_of_cohorts(group_ids: list[str]) -> set[str]:
    """The perimeter cohort ids read by the cohorts whose group ids are given."""
    rows = CohortResult.objects.filter(group_id__in=[str(g) for g in group_ids if g]).values_list(
        "request_query_snapshot__perimeters_ids", flat=True
    )
    return {str(p) for ids in rows for p in ids or []}
