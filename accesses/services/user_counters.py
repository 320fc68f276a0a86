"""Per-perimeter user counters (spec 01 §14), recomputed by a periodic task.

Each counter is one aggregate query over the valid accesses joined to the closure table, so the cost does not
depend on the depth of the tree and no tree is walked in Python.
"""

from __future__ import annotations

import logging
from collections import defaultdict

from django.db import transaction
from django.db.models import Count, QuerySet
from django.utils import timezone

from accesses import catalogue
from accesses.models import Access, Perimeter, PerimeterClosure
from admin_cohort.response_cache import invalidate

COUNTERS = ("count_allowed_users", "count_allowed_users_above_levels", "count_allowed_users_inferior_levels")
# Bounds the parameters of one `id IN (…)` (SQLite in the embedded mode accepts 32 766).
UPDATE_BATCH_SIZE = 5000

_logger = logging.getLogger("info")


@transaction.atomic
def count_users_on_perimeters() -> int:
    """Recomputes the three counters of every perimeter; returns the number of perimeters whose counters changed.

    Changed perimeters are written with one UPDATE per distinct triple of values: counters take few distinct
    values, and `bulk_update` would spend seconds in Python building a CASE per row on a first run over 20 000.
    """
    computed = _computed_counters()
    changed: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for perimeter_id, *stored in Perimeter.objects.values_list("id", *COUNTERS):
        wanted = [computed[counter].get(perimeter_id, 0) for counter in COUNTERS]
        if wanted != stored:
            changed[tuple(wanted)].append(perimeter_id)
    now = timezone.now()
    for values, ids in changed.items():
        for start in range(0, len(ids), UPDATE_BATCH_SIZE):
            Perimeter.objects.filter(id__in=ids[start : start + UPDATE_BATCH_SIZE]).update(
                update_datetime=now, **dict(zip(COUNTERS, values, strict=True))
            )
    if changed:
        # Queryset updates send no signals: the perimeters' cached answers are dropped here, once committed.
        transaction.on_commit(lambda: invalidate("accesses.Perimeter"), robust=True)
    count = sum(len(ids) for ids in changed.values())
    _logger.info("User counters recomputed: %d perimeters changed", count)
    return count


def _computed_counters() -> dict[str, dict[int, int]]:
    """{counter: {perimeter id: value}}, perimeters at 0 left out."""
    valid = Access.objects.valid_now()
    impacting = valid.with_role_holding_any(catalogue.IMPACT_INFERIOR_LEVELS)
    return {
        "count_allowed_users": _distinct_users(
            valid.filter(perimeter_id__isnull=False), "perimeter_id", "profile__user_id"
        ),
        # Users holding, on a strict ancestor, a right that reaches the sub-perimeters.
        "count_allowed_users_above_levels": _distinct_users(
            PerimeterClosure.objects.filter(depth__gt=0, ancestor__accesses__in=impacting),
            "descendant_id",
            "ancestor__accesses__profile__user_id",
        ),
        # Users holding any access on a strict descendant.
        "count_allowed_users_inferior_levels": _distinct_users(
            PerimeterClosure.objects.filter(depth__gt=0, descendant__accesses__in=valid),
            "ancestor_id",
            "descendant__accesses__profile__user_id",
        ),
    }


def _distinct_users(rows: QuerySet, perimeter_field: str, user_field: str) -> dict[int, int]:
    """{perimeter id: number of distinct users}, grouped on `perimeter_field` (the filters on `rows` apply first)."""
    counts = rows.values(perimeter_field).annotate(users=Count(user_field, distinct=True)).order_by()
    return {row[perimeter_field]: row["users"] for row in counts}
