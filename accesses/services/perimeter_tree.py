"""Ancestry of the perimeter tree, computed once from the parent links when a tree is loaded or synced.

Rights queries read the stored result (`level`, `above_levels_ids`, `inferior_levels_ids`, `full_path`)
and never walk the tree, so every loader computes it here, in one pass over the whole tree.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.utils import timezone

if TYPE_CHECKING:
    from accesses.models import Perimeter

ROOT_LEVEL = 1
PATH_SEPARATOR = "/"
WRITE_BATCH_SIZE = 1000  # bounded statements, whatever the size of the tree


class TreeError(ValueError):
    """The parent links do not form a tree; `node_id` is a perimeter to blame."""

    def __init__(self, message: str, node_id: int) -> None:
        super().__init__(message)
        self.node_id = node_id


@dataclass(frozen=True)
class Ancestry:
    level: int
    ancestor_ids: tuple[int, ...]  # root first, the node itself excluded
    child_ids: tuple[int, ...]  # direct children only, ascending


def compute_ancestry(parents: Mapping[int, int | None]) -> dict[int, Ancestry]:
    """Every node's level, ancestors and children from `{node id: parent id or None}`.

    Several roots are accepted (a forest); whether exactly one is required is the caller's rule.
    Raises TreeError for a parent that is not a node or for a cycle.
    """
    chains: dict[int, tuple[int, ...]] = {}
    for start in parents:
        # Walk up until a node whose chain is known; iterative so that deep trees cannot hit the recursion limit.
        path: list[int] = []
        on_path: set[int] = set()
        node: int | None = start
        while node is not None and node not in chains:
            if node in on_path:
                raise TreeError(f"perimeter {node} is its own ancestor (cycle in the parent links)", node)
            if node not in parents:
                child = path[-1]
                raise TreeError(f"perimeter {child} has an unknown parent {node}", child)
            path.append(node)
            on_path.add(node)
            node = parents[node]
        above = () if node is None else (*chains[node], node)
        for member in reversed(path):
            chains[member] = above
            above = (*above, member)

    children: dict[int, list[int]] = {node: [] for node in parents}
    for node, parent in parents.items():
        if parent is not None:
            children[parent].append(node)
    return {
        node: Ancestry(level=ROOT_LEVEL + len(chain), ancestor_ids=chain, child_ids=tuple(sorted(children[node])))
        for node, chain in chains.items()
    }


def join_ids(ids: Iterable[int]) -> str | None:
    """The stored form of an id list: comma-joined without spaces, None when empty (root's ancestors, leaves)."""
    text = ",".join(str(i) for i in ids)
    return text or None


def node_label(node_id: int, name: str | None, source_value: str | None) -> str:
    """A node's segment of `full_path`: `<source_value>-<name>`, the name alone when there is no business code."""
    label = name or str(node_id)
    return f"{source_value}-{label}" if source_value else label


def full_path(node_id: int, ancestry: Ancestry, labels: Mapping[int, str]) -> str:
    """`label/label/…` from the root down to the node (the sort key of read-rights listings)."""
    return PATH_SEPARATOR.join(labels[i] for i in (*ancestry.ancestor_ids, node_id))


@dataclass(frozen=True)
class UpsertResult:
    created: tuple[int, ...]
    updated: tuple[int, ...]
    restored: tuple[int, ...]  # among `updated`: perimeters that were soft-deleted


def upsert_perimeters(
    perimeters: Sequence[Perimeter], fields: Sequence[str], existing: Mapping[int, Perimeter] | None = None
) -> UpsertResult:
    """Inserts the new perimeters and rewrites `fields` of the stored ones that differ or are soft-deleted
    (which restores them); `existing` (id -> stored perimeter, deleted ones included) spares a query when
    the caller already holds it, and is not modified.

    A perimeter whose values all match is not written, so its `update_datetime` tells when it last changed.
    Callers then run rebuild_closure(), once the whole tree is written.
    """
    from accesses.models import Perimeter

    if existing is None:
        existing = Perimeter.all_objects.in_bulk([p.id for p in perimeters])
    now = timezone.now()
    to_create, to_update, restored = [], [], []
    for perimeter in perimeters:
        current = existing.get(perimeter.id)
        if current is None:
            to_create.append(perimeter)
            continue
        differs = any(getattr(current, name) != getattr(perimeter, name) for name in fields)
        if differs or current.delete_datetime is not None:
            perimeter.delete_datetime = None
            perimeter.update_datetime = now
            to_update.append(perimeter)
            if current.delete_datetime is not None:
                restored.append(perimeter.id)
    Perimeter.objects.bulk_create(to_create, batch_size=WRITE_BATCH_SIZE)
    Perimeter.all_objects.bulk_update(
        to_update, [*fields, "delete_datetime", "update_datetime"], batch_size=WRITE_BATCH_SIZE
    )
    return UpsertResult(
        created=tuple(p.id for p in to_create), updated=tuple(p.id for p in to_update), restored=tuple(restored)
    )


CLOSURE_BATCH_SIZE = 5000


def rebuild_closure() -> int:
    """Brings the closure table in line with the stored parent links; returns the number of nodes rewritten.

    Only nodes whose ancestor chain changed are rewritten, so a sync that moves nothing writes nothing.
    Soft-deleted perimeters keep their rows: their accesses are still listed with their place in the tree.
    """
    from accesses.models import Perimeter, PerimeterClosure

    parents = dict(Perimeter.all_objects.values_list("id", "parent_id"))
    wanted = {node: ancestry.ancestor_ids for node, ancestry in compute_ancestry(parents).items()}
    stored: dict[int, dict[int, int]] = {}
    for descendant, ancestor, depth in PerimeterClosure.objects.values_list("descendant_id", "ancestor_id", "depth"):
        stored.setdefault(descendant, {})[ancestor] = depth
    stale = [node for node, chain in wanted.items() if stored.get(node) != _closure_rows(node, chain)]
    gone = [node for node in stored if node not in wanted]
    for start in range(0, len(stale) + len(gone), CLOSURE_BATCH_SIZE):
        PerimeterClosure.objects.filter(descendant_id__in=(stale + gone)[start : start + CLOSURE_BATCH_SIZE]).delete()
    PerimeterClosure.objects.bulk_create(
        (
            PerimeterClosure(descendant_id=node, ancestor_id=ancestor, depth=depth)
            for node in stale
            for ancestor, depth in _closure_rows(node, wanted[node]).items()
        ),
        batch_size=CLOSURE_BATCH_SIZE,
    )
    if stale or gone:
        _refresh_planner_statistics(Perimeter, PerimeterClosure)
    return len(stale)


def _refresh_planner_statistics(*models) -> None:
    """Right after a large load PostgreSQL still believes the tables are nearly empty and picks nested loops
    over 20,000 rows for the rights queries (ten times slower) until autovacuum catches up."""
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {', '.join(model._meta.db_table for model in models)}")


def _closure_rows(node: int, ancestor_ids: tuple[int, ...]) -> dict[int, int]:
    """{ancestor: depth} with the node itself at depth 0 and its parent at depth 1."""
    rows = {ancestor: len(ancestor_ids) - index for index, ancestor in enumerate(ancestor_ids)}
    rows[node] = 0
    return rows
