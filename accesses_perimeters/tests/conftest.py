"""An OMOP-shaped source in the run's second PostgreSQL database, and helpers to shape its care-site tree."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from django.db import connections

from accesses.signals import perimeter_cohort_ids_changed

SOURCE = "accesses_perimeters"
DATABASES = ["default", SOURCE]
CARE_SITE_CONCEPT_ID = 1147323
IS_PART_OF_CONCEPT_ID = 44818821
ROOT_ID = 999999
TYPES = ["AP-HP", "Groupe hospitalier (GH)", "Hôpital", "Pôle/DMU", "Unité Fonctionnelle (UF)"]

# The columns the sync reads, typed as in the data warehouse; concept_fhir is reached through the search path.
SCHEMA = f"""
    DROP SCHEMA IF EXISTS omop CASCADE;
    DROP TABLE IF EXISTS concept_fhir;
    CREATE SCHEMA omop;
    CREATE TABLE concept_fhir (source_concept_id bigint PRIMARY KEY, source_concept_name text);
    CREATE TABLE omop.care_site (
        care_site_id bigint PRIMARY KEY, care_site_name text, care_site_short_name text,
        care_site_type_source_value text, care_site_source_value text, delete_datetime timestamptz
    );
    CREATE TABLE omop.fact_relationship (
        domain_concept_id_1 integer, fact_id_1 bigint, domain_concept_id_2 integer, fact_id_2 bigint,
        relationship_concept_id integer, delete_datetime timestamptz
    );
    CREATE TABLE omop.list (
        id bigint PRIMARY KEY, _size bigint, _sourcereferenceid text, source__type text, delete_datetime timestamptz
    );
    INSERT INTO concept_fhir VALUES
        ({CARE_SITE_CONCEPT_ID}, 'Care site'),
        ({IS_PART_OF_CONCEPT_ID}, 'Care Site is part of Care Site'),
        (8532, 'Person');
"""
DROP = "DROP SCHEMA IF EXISTS omop CASCADE; DROP TABLE IF EXISTS concept_fhir;"


class OmopSource:
    """Writes the source rows of care sites the way the warehouse holds them."""

    def __init__(self) -> None:
        self.connection = connections[SOURCE]

    def execute(self, sql: str, params=None) -> None:
        with self.connection.cursor() as cursor:
            cursor.execute(sql, params)

    def add(
        self,
        care_site_id: int,
        parent_id: int | None = None,
        *,
        cohort_id: int,
        name: str | None = None,
        type_: str | None = None,
        size: int = 10,
    ) -> None:
        name = name or f"P{care_site_id}"
        self.execute(
            "INSERT INTO omop.care_site VALUES (%s, %s, %s, %s, %s, NULL)",
            [care_site_id, name, name, type_ or "Hôpital", name],
        )
        self.execute(
            "INSERT INTO omop.list VALUES (%s, %s, %s, 'Organization', NULL)", [cohort_id, size, str(care_site_id)]
        )
        if parent_id is not None:
            self.link(care_site_id, parent_id)

    def link(self, child_id: int, parent_id: int, relationship: int = IS_PART_OF_CONCEPT_ID) -> None:
        self.execute(
            "INSERT INTO omop.fact_relationship VALUES (%s, %s, %s, %s, %s, NULL)",
            [CARE_SITE_CONCEPT_ID, child_id, CARE_SITE_CONCEPT_ID, parent_id, relationship],
        )

    def move(self, care_site_id: int, new_parent_id: int) -> None:
        self.execute(
            "UPDATE omop.fact_relationship SET fact_id_2 = %s WHERE fact_id_1 = %s", [new_parent_id, care_site_id]
        )

    def rename(self, care_site_id: int, name: str) -> None:
        self.execute("UPDATE omop.care_site SET care_site_name = %s WHERE care_site_id = %s", [name, care_site_id])

    def set_deleted(self, care_site_id: int, deleted: bool = True) -> None:
        self.execute(
            "UPDATE omop.care_site SET delete_datetime = CASE WHEN %s THEN now() END WHERE care_site_id = %s",
            [deleted, care_site_id],
        )

    def add_example_j(self) -> None:
        """Spec 01 §15 example J: root 999999 -> {0, 1}; 0 -> {2, 3}; 1 -> {4, 5}; 2 -> {6, 8}; 4 -> {7, 9}.

        Care site n has the list (cohort) id n + 2, the root the list id 1.
        """
        self.add(ROOT_ID, cohort_id=1, name="APHP", type_=TYPES[0], size=100)
        for parent, children, type_ in (
            (ROOT_ID, (0, 1), TYPES[1]),
            (0, (2, 3), TYPES[2]),
            (1, (4, 5), TYPES[2]),
            (2, (6, 8), TYPES[3]),
            (4, (7, 9), TYPES[3]),
        ):
            for child in children:
                self.add(child, parent, cohort_id=child + 2, type_=type_)


@pytest.fixture(autouse=True)
def _source_settings(settings) -> None:
    settings.ROOT_PERIMETER_ID = ROOT_ID
    settings.PERIMETER_TYPES = TYPES


@pytest.fixture
def omop() -> Iterator[OmopSource]:
    """The source tables, empty but for the concepts; dropped afterwards (also after transactional tests)."""
    source = OmopSource()
    source.execute(SCHEMA)
    yield source
    source.execute(DROP)


@pytest.fixture
def cohort_id_changes() -> Iterator[list[dict[str, str]]]:
    """The `changes` of every perimeter_cohort_ids_changed signal sent during the test."""
    received: list[dict[str, str]] = []

    def receiver(sender, changes, **kwargs):
        received.append(changes)

    perimeter_cohort_ids_changed.connect(receiver, dispatch_uid="test-cohort-id-changes")
    yield received
    perimeter_cohort_ids_changed.disconnect(dispatch_uid="test-cohort-id-changes")


@pytest.fixture
def info_log(caplog) -> Iterator[pytest.LogCaptureFixture]:
    """Records of the project's "info" logger, which does not propagate to the root logger."""
    logger = logging.getLogger("info")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)
