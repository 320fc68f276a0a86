"""Delta sync of the perimeter tree from the OMOP source (spec 01 §15).

The source is read first (outside any transaction on our side), the tree is placed breadth-first from the
root, then everything is written in one transaction: perimeters that differ are upserted (restoring those
that reappear), vanished ones are soft-deleted, the closure table is rebuilt, and valid accesses left on
deleted perimeters are closed. A run over an unchanged source writes nothing.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accesses.models import Access, Perimeter
from accesses.services.perimeter_tree import (
    WRITE_BATCH_SIZE,
    compute_ancestry,
    full_path,
    join_ids,
    node_label,
    rebuild_closure,
    upsert_perimeters,
)
from accesses.signals import perimeter_cohort_ids_changed
from accesses_perimeters.services.source import SourceCareSite, SourceError, valid_care_sites
from admin_cohort import response_cache

_logger = logging.getLogger("info")

# Rewritten on stored perimeters that differ from the source (`local_id` is only set on insert).
SYNCED_FIELDS = (
    "source_value",
    "name",
    "short_name",
    "type_source_value",
    "parent_id",
    "above_levels_ids",
    "inferior_levels_ids",
    "full_path",
    "level",
    "cohort_id",
    "cohort_size",
)
MAX_LOGGED_IDS = 20


@dataclass(frozen=True)
class SyncReport:
    created: int = 0
    updated: int = 0  # restored ones included
    restored: int = 0
    deleted: int = 0
    accesses_closed: int = 0
    cohort_ids_changed: int = 0
    error: str | None = None  # the sync stopped before writing anything

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated or self.deleted or self.accesses_closed)


def _shown(ids: Iterable[int]) -> str:
    ids = sorted(ids)
    more = f" and {len(ids) - MAX_LOGGED_IDS} more" if len(ids) > MAX_LOGGED_IDS else ""
    return ", ".join(str(i) for i in ids[:MAX_LOGGED_IDS]) + more


def _place(care_sites: list[SourceCareSite], root: SourceCareSite) -> dict[int, SourceCareSite]:
    """The care sites reachable from the root, breadth-first: each under the first parent met.

    Breadth-first, a care site listed under several parents stays under the shallowest one (the lowest id
    among equals); a care site whose parent is not reachable is left out, hence deleted like a vanished one.
    """
    children: dict[int, list[SourceCareSite]] = defaultdict(list)
    for site in care_sites:
        if site.parent_id is not None:
            children[site.parent_id].append(site)
    placed = {root.id: root}
    level = [root.id]
    while level:
        next_level = []
        for parent_id in level:
            for site in children.get(parent_id, ()):
                kept = placed.get(site.id)
                if kept is None:
                    placed[site.id] = site
                    next_level.append(site.id)
                elif kept != site:
                    _logger.warning(
                        "Perimeter sync: care site %s is listed under %s too; kept under %s (cohort %s)",
                        site.id,
                        site.parent_id,
                        kept.parent_id,
                        kept.cohort_id,
                    )
        level = next_level
    unreachable = {site.id for site in care_sites} - placed.keys()
    if unreachable:
        _logger.warning("Perimeter sync: care sites not under the root, left out: %s", _shown(unreachable))
    return placed


def _perimeters(placed: dict[int, SourceCareSite]) -> list[Perimeter]:
    """The wanted perimeters, with their ancestry (ancestors root first), parents before children."""
    ancestry = compute_ancestry({site_id: site.parent_id for site_id, site in placed.items()})
    labels = {site_id: node_label(site_id, site.name, site.source_value) for site_id, site in placed.items()}
    perimeters = [
        Perimeter(
            id=site_id,
            local_id=str(site_id),
            name=site.name,
            short_name=site.short_name,
            source_value=site.source_value,
            type_source_value=site.type_source_value,
            parent_id=site.parent_id,
            cohort_id=site.cohort_id,
            cohort_size=site.cohort_size,
            level=ancestry[site_id].level,
            above_levels_ids=join_ids(ancestry[site_id].ancestor_ids),
            inferior_levels_ids=join_ids(ancestry[site_id].child_ids),
            full_path=full_path(site_id, ancestry[site_id], labels),
        )
        for site_id, site in placed.items()
    ]
    return sorted(perimeters, key=lambda perimeter: perimeter.level)


def _soft_delete(ids: list[int], now: datetime) -> None:
    for start in range(0, len(ids), WRITE_BATCH_SIZE):
        Perimeter.objects.filter(id__in=ids[start : start + WRITE_BATCH_SIZE]).update(
            delete_datetime=now, update_datetime=now
        )


def _close_orphan_accesses(now: datetime) -> int:
    """Ends the started, unfinished accesses on a deleted perimeter or on none (a user must not keep them)."""
    return (
        Access.objects.filter(Q(perimeter__isnull=True) | Q(perimeter__delete_datetime__isnull=False))
        .filter(start_datetime__lte=now, end_datetime__gt=now)
        .update(end_datetime=now, update_datetime=now)
    )


def _invalidate_caches() -> None:
    # Bulk writes send no model signals: the response caches are told explicitly.
    response_cache.invalidate("accesses.Perimeter", "accesses.Access")


def _announce_cohort_changes(changes: dict[str, str]) -> None:
    # Saved cohort queries name perimeters by cohort id: the cohort app rewrites them (§15 step 6).
    perimeter_cohort_ids_changed.send(sender=Perimeter, changes=changes)


def sync_perimeters() -> SyncReport:
    """Brings the perimeters in line with the OMOP source; logs and returns what was done.

    When the source has no root (ROOT_PERIMETER_ID) or lacks its reference concepts, nothing is written:
    an empty or broken source must never delete the whole tree.
    """
    root_id = settings.ROOT_PERIMETER_ID
    try:
        care_sites = valid_care_sites(root_id=root_id, perimeter_types=settings.PERIMETER_TYPES)
    except SourceError as error:
        _logger.error("Perimeter sync stopped, nothing changed: %s", error)
        return SyncReport(error=str(error))
    root = next((site for site in care_sites if site.id == root_id and site.parent_id is None), None)
    if root is None:
        message = f"root care site {root_id} (ROOT_PERIMETER_ID) not found among the valid care sites"
        _logger.error("Perimeter sync stopped, nothing changed: %s", message)
        return SyncReport(error=message)
    wanted = _perimeters(_place(care_sites, root))
    report = _write(wanted)
    _logger.info("Perimeter sync done: %s", report)
    return report


@transaction.atomic
def _write(wanted: list[Perimeter]) -> SyncReport:
    now = timezone.now()
    existing = Perimeter.all_objects.in_bulk()
    cohort_changes = {
        existing[p.id].cohort_id: p.cohort_id
        for p in wanted
        if p.id in existing and existing[p.id].cohort_id and existing[p.id].cohort_id != p.cohort_id
    }
    result = upsert_perimeters(wanted, SYNCED_FIELDS, existing=existing)
    wanted_ids = {p.id for p in wanted}
    # Already-deleted perimeters keep their deletion date: it tells when they left the source.
    vanished = [pid for pid, p in existing.items() if p.delete_datetime is None and pid not in wanted_ids]
    _soft_delete(vanished, now)
    if vanished:
        _logger.info("Perimeter sync: %d perimeter(s) deleted: %s", len(vanished), _shown(vanished))
    rebuild_closure()
    report = SyncReport(
        created=len(result.created),
        updated=len(result.updated),
        restored=len(result.restored),
        deleted=len(vanished),
        accesses_closed=_close_orphan_accesses(now),
        cohort_ids_changed=len(cohort_changes),
    )
    # Robust: a failing listener is logged and cannot undo a committed sync nor silence the other one.
    if report.changed:
        transaction.on_commit(_invalidate_caches, robust=True)
    if cohort_changes:
        transaction.on_commit(lambda: _announce_cohort_changes(cohort_changes), robust=True)
    return report
