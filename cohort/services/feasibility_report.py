"""The feasibility report (spec 02 §8.2): bucketed patient counts over the reporting perimeter tree.

Built from the QueryExecutor's per-perimeter counts, it is stored twice, zipped: a flat JSON object and the
HTML page the owner downloads. Perimeter names come from the source database and are escaped.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field

from django.conf import settings
from django.template.loader import render_to_string
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from accesses.models import Perimeter
from cohort.models import FeasibilityStudy

SMALL_COUNT_LIMIT = 10
# Characters that would break a file name (path separators) or the quoted Content-Disposition header.
_UNSAFE_IN_FILE_NAME = re.compile(r'[/\\"\x00-\x1f\x7f]')


@dataclass
class ReportNode:
    cohort_id: str
    name: str
    children: list[ReportNode] = field(default_factory=list)


@dataclass(frozen=True)
class Report:
    json_zip: bytes
    html_zip: bytes


def bucket(count: int) -> str:
    """Small numbers are hidden: 0, `< 10`, then ranges of ten (`20-30`); negatives (not computed) as is."""
    if 0 < count < SMALL_COUNT_LIMIT:
        return f"< {SMALL_COUNT_LIMIT}"
    if count >= SMALL_COUNT_LIMIT:
        low = SMALL_COUNT_LIMIT * (count // SMALL_COUNT_LIMIT)
        return f"{low}-{low + SMALL_COUNT_LIMIT}"
    return str(count)


def report_file_name(study: FeasibilityStudy) -> str:
    """`Rapport_<DD-MM-YYYY>_<first four words of the request name>...` (spec 02 §4.9)."""
    words = " ".join(study.request_query_snapshot.request.name.split()[:4])
    name = f"Rapport_{study.created_at.strftime('%d-%m-%Y')}_{words}..."
    return _UNSAFE_IN_FILE_NAME.sub("_", name)


def reporting_tree() -> ReportNode | None:
    """The root perimeter and, recursively, its children of a reporting type (one query for the whole tree)."""
    root = Perimeter.objects.filter(parent__isnull=True, level=1).values("id", "cohort_id", "name").first()
    if root is None:
        return None
    rows = Perimeter.objects.filter(
        type_source_value__in=settings.REPORTING_PERIMETER_TYPES, parent__isnull=False
    ).values("id", "parent_id", "cohort_id", "name")
    children_of: dict[int, list[dict]] = {}
    for row in rows.order_by("name", "id"):
        children_of.setdefault(row["parent_id"], []).append(row)

    def node(row: dict) -> ReportNode:
        return ReportNode(
            cohort_id=row["cohort_id"] or "",
            name=row["name"] or "",
            children=[node(child) for child in children_of.get(row["id"], [])],
        )

    return node(root)


def _flatten(node: ReportNode, counts: Mapping[str, int], into: dict[str, str]) -> dict[str, str]:
    into[node.cohort_id] = bucket(counts.get(node.cohort_id, 0))
    for child in node.children:
        _flatten(child, counts, into)
    return into


def tree_html(nodes: list[ReportNode], counts: Mapping[str, int]) -> SafeString:
    """Nested `<ul class="perimeters-tree">`: a hidden checkbox per perimeter expands or collapses its children."""
    items = format_html_join(
        "",
        '<li class="item"><input type="checkbox" id="p{0}"><div class="label-count">'
        '<label for="p{0}">{1}</label><span id="count_p{0}">{2}</span></div>{3}</li>',
        (
            (
                node.cohort_id,
                node.name,
                bucket(counts.get(node.cohort_id, 0)),
                tree_html(node.children, counts) if node.children else "",
            )
            for node in nodes
        ),
    )
    return format_html('<ul class="perimeters-tree">{}</ul>', items)


def _zipped(member_name: str, content: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(member_name, content)
    return buffer.getvalue()


def build_report(study: FeasibilityStudy, counts: Mapping[str, int]) -> Report:
    """`counts`: patients per perimeter cohort id, as called back by the QueryExecutor."""
    tree = reporting_tree()
    if tree is None:
        raise ValueError("the perimeter tree has no root")
    snapshot = study.request_query_snapshot
    page = render_to_string(
        "feasibility_report.html",
        {
            "request_name": snapshot.request.name,
            "request_version": snapshot.version,
            "request_date": snapshot.created_at,
            "request_url": f"{settings.FRONTEND_URL}/cohort/new/{snapshot.request_id}",
            "perimeters_tree": tree_html([tree], counts),
        },
    )
    name = report_file_name(study)
    return Report(
        json_zip=_zipped(f"{name}.json", json.dumps(_flatten(tree, counts, {}))),
        html_zip=_zipped(f"{name}.html", page),
    )
