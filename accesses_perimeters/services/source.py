"""Reading the OMOP source: the valid care sites of spec 01 §15, in two queries whatever the size of the tree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.db import connections

from accesses_perimeters.models import CareSite, ConceptFhir, FactRelationship, OmopList
from accesses_perimeters.routers import SOURCE_DATABASE

CARE_SITE_CONCEPT = "Care site"
IS_PART_OF_CONCEPT = "Care Site is part of Care Site"
ORGANIZATION = "Organization"


class SourceError(Exception):
    """The source cannot describe the tree (its reference concepts are missing): nothing must be written."""


@dataclass(frozen=True)
class SourceCareSite:
    id: int
    parent_id: int | None  # None for the root only
    name: str | None
    short_name: str | None
    source_value: str | None
    type_source_value: str | None
    cohort_id: str
    cohort_size: str | None  # perimeters store both as text


def _concept_ids() -> tuple[list[int], list[int]]:
    """Ids of the "Care site" domain and of the "is part of" relationship (a name may have several ids)."""
    rows = ConceptFhir.objects.filter(source_concept_name__in=[CARE_SITE_CONCEPT, IS_PART_OF_CONCEPT]).values_list(
        "source_concept_name", "source_concept_id"
    )
    ids: dict[str, list[int]] = {CARE_SITE_CONCEPT: [], IS_PART_OF_CONCEPT: []}
    for name, concept_id in rows:
        ids[name].append(concept_id)
    missing = [name for name, found in ids.items() if not found]
    if missing:
        # Without them no relationship matches: every perimeter but the root would look deleted.
        raise SourceError(f"concept(s) {', '.join(repr(name) for name in missing)} not found in concept_fhir")
    return ids[CARE_SITE_CONCEPT], ids[IS_PART_OF_CONCEPT]


_VALID_CARE_SITES = """
    SELECT cs.care_site_id, NULL::bigint, cs.care_site_name, cs.care_site_short_name, cs.care_site_source_value,
           cs.care_site_type_source_value, l.id, l._size
    FROM {care_site} cs
    JOIN {list} l ON l._sourcereferenceid = cs.care_site_id::text
    WHERE cs.care_site_id = %(root_id)s
      AND cs.delete_datetime IS NULL
      AND l.delete_datetime IS NULL AND l.source__type = %(organization)s
    UNION
    SELECT cs.care_site_id, fr.fact_id_2, cs.care_site_name, cs.care_site_short_name, cs.care_site_source_value,
           cs.care_site_type_source_value, l.id, l._size
    FROM {care_site} cs
    JOIN {fact_relationship} fr ON fr.fact_id_1 = cs.care_site_id
    JOIN {list} l ON l._sourcereferenceid = cs.care_site_id::text
    WHERE fr.fact_id_1 <> fr.fact_id_2
      AND fr.domain_concept_id_1 = ANY(%(care_site)s) AND fr.domain_concept_id_2 = ANY(%(care_site)s)
      AND fr.relationship_concept_id = ANY(%(is_part_of)s)
      AND fr.delete_datetime IS NULL
      AND cs.care_site_type_source_value = ANY(%(types)s)
      AND cs.delete_datetime IS NULL
      AND l.delete_datetime IS NULL AND l.source__type = %(organization)s
    -- a stable order, so that "the first parent" of a care site listed under several is the same every run
    ORDER BY 1, 2 NULLS FIRST, 7
"""


def valid_care_sites(*, root_id: int, perimeter_types: Sequence[str]) -> list[SourceCareSite]:
    """Every (care site, parent) pair of the source; a care site may come several times (several parents)."""
    care_site_concepts, is_part_of_concepts = _concept_ids()
    connection = connections[SOURCE_DATABASE]
    tables = {
        name: connection.ops.quote_name(model._meta.db_table)
        for name, model in (("care_site", CareSite), ("fact_relationship", FactRelationship), ("list", OmopList))
    }
    params = {
        "root_id": root_id,
        "organization": ORGANIZATION,
        "care_site": care_site_concepts,
        "is_part_of": is_part_of_concepts,
        "types": list(perimeter_types),
    }
    with connection.cursor() as cursor:
        cursor.execute(_VALID_CARE_SITES.format(**tables), params)
        rows = cursor.fetchall()
    return [
        SourceCareSite(
            id=care_site_id,
            parent_id=parent_id,
            name=name,
            short_name=short_name,
            source_value=source_value,
            type_source_value=type_source_value,
            cohort_id=str(cohort_id),
            cohort_size=None if cohort_size is None else str(cohort_size),
        )
        for care_site_id, parent_id, name, short_name, source_value, type_source_value, cohort_id, cohort_size in rows
    ]
