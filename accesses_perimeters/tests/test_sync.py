"""Perimeter sync from the OMOP source (spec 01 §15, §23.9), against a real PostgreSQL source database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accesses.models import Access, Perimeter, PerimeterClosure
from accesses_perimeters.services.sync import SyncReport, sync_perimeters
from accesses_perimeters.tests.conftest import DATABASES, ROOT_ID, SOURCE, TYPES
from tests.factories import PerimeterFactory, RoleFactory, UserFactory, grant

pytestmark = pytest.mark.django_db(databases=DATABASES)

EXAMPLE_J_IDS = {ROOT_ID, *range(10)}


@pytest.fixture
def sync(django_capture_on_commit_callbacks):
    """Runs the sync and its after-commit work (signal, cache invalidation), as a committed run would."""

    def run() -> SyncReport:
        with django_capture_on_commit_callbacks(execute=True):
            return sync_perimeters()

    return run


@pytest.fixture
def example_j(omop, sync):
    """Example J synced once."""
    omop.add_example_j()
    sync()
    return omop


def fields(perimeter_id: int, *names: str) -> tuple:
    return Perimeter.all_objects.filter(pk=perimeter_id).values_list(*names).get()


def ancestors(perimeter_id: int) -> dict[int, int]:
    """{ancestor: depth} from the closure table (the perimeter itself at depth 0)."""
    return dict(PerimeterClosure.objects.filter(descendant_id=perimeter_id).values_list("ancestor_id", "depth"))


def snapshot() -> list[tuple]:
    return list(Perimeter.all_objects.order_by("id").values_list())


def valid_access(perimeter_id: int | None) -> Access:
    """A valid access on that perimeter, or on none (an access whose perimeter was hard-deleted)."""
    access = grant(UserFactory(), RoleFactory(), Perimeter.objects.get(pk=perimeter_id or ROOT_ID))
    if perimeter_id is None:
        Access.objects.filter(pk=access.pk).update(perimeter=None)
        access.refresh_from_db()
    return access


class TestExampleJ:
    def test_builds_the_tree_and_updates_the_pre_existing_perimeters(self, omop, sync, cohort_id_changes):
        omop.add_example_j()
        PerimeterFactory(id=3, local_id="3", cohort_id="5", parent=None)
        PerimeterFactory(id=4, local_id="4", cohort_id="4", parent=None)

        report = sync()

        assert (report.created, report.updated, report.deleted, report.error) == (9, 2, 0, None)
        assert set(Perimeter.objects.values_list("id", flat=True)) == EXAMPLE_J_IDS
        assert fields(ROOT_ID, "parent_id", "level", "above_levels_ids", "inferior_levels_ids", "full_path") == (
            None,
            1,
            None,
            "0,1",
            "APHP-APHP",
        )
        assert fields(ROOT_ID, "cohort_id", "cohort_size", "local_id", "type_source_value") == (
            "1",
            "100",
            str(ROOT_ID),
            TYPES[0],
        )
        assert fields(4, "parent_id", "level", "above_levels_ids", "inferior_levels_ids", "full_path") == (
            1,
            3,
            "999999,1",  # root first
            "7,9",
            "APHP-APHP/P1-P1/P4-P4",
        )
        assert fields(7, "level", "above_levels_ids", "inferior_levels_ids") == (4, "999999,1,4", None)
        assert fields(8, "above_levels_ids", "cohort_id") == ("999999,0,2", "10")
        assert ancestors(7) == {7: 0, 4: 1, 1: 2, ROOT_ID: 3}
        # Perimeter 3 keeps its cohort; perimeter 4's cohort id 4 becomes 6, and saved queries must follow.
        assert fields(3, "cohort_id", "name", "level") == ("5", "P3", 3)
        assert fields(4, "cohort_id") == ("6",)
        assert report.cohort_ids_changed == 1
        assert cohort_id_changes == [{"4": "6"}]


class TestTreeChanges:
    def test_new_care_site_is_added_under_its_parent(self, example_j, sync):
        before = dict(Perimeter.objects.values_list("id", "update_datetime"))
        example_j.add(10, 5, cohort_id=12, type_=TYPES[3])

        report = sync()

        assert (report.created, report.updated, report.deleted) == (1, 1, 0)  # 5 gains a child
        assert fields(10, "parent_id", "level", "above_levels_ids", "cohort_id") == (5, 4, "999999,1,5", "12")
        assert fields(5, "inferior_levels_ids") == ("10",)
        assert ancestors(10) == {10: 0, 5: 1, 1: 2, ROOT_ID: 3}
        after = dict(Perimeter.objects.values_list("id", "update_datetime"))
        assert {pid for pid in before if before[pid] != after[pid]} == {5}

    def test_moved_care_site_takes_its_sub_tree_along(self, example_j, sync):
        example_j.move(4, 2)

        report = sync()

        assert (report.created, report.deleted) == (0, 0)
        assert fields(4, "parent_id", "level", "above_levels_ids") == (2, 4, "999999,0,2")
        assert fields(7, "level", "above_levels_ids", "full_path") == (
            5,
            "999999,0,2,4",
            "APHP-APHP/P0-P0/P2-P2/P4-P4/P7-P7",
        )
        assert fields(1, "inferior_levels_ids") == ("5",)
        assert fields(2, "inferior_levels_ids") == ("4,6,8",)
        assert ancestors(4) == {4: 0, 2: 1, 0: 2, ROOT_ID: 3}
        assert ancestors(9) == {9: 0, 4: 1, 2: 2, 0: 3, ROOT_ID: 4}
        assert not PerimeterClosure.objects.filter(ancestor_id=1, descendant_id__in=[4, 7, 9]).exists()

    def test_renamed_care_site_renames_the_paths_below_it(self, example_j, sync):
        example_j.rename(1, "Hôpital Nord")

        report = sync()

        assert report.updated == 5  # 1 and its descendants 4, 5, 7, 9
        assert fields(1, "name", "full_path") == ("Hôpital Nord", "APHP-APHP/P1-Hôpital Nord")
        assert fields(9, "full_path") == ("APHP-APHP/P1-Hôpital Nord/P4-P4/P9-P9",)
        assert fields(2, "full_path") == ("APHP-APHP/P0-P0/P2-P2",)

    def test_care_site_under_two_parents_stays_under_the_first(self, example_j, sync):
        example_j.link(6, 5)  # 6 is already under 2, at the same depth as 5

        report = sync()

        assert report.updated == 0
        assert fields(6, "parent_id") == (2,)


class TestDeletion:
    def test_vanished_sub_tree_is_soft_deleted_and_its_accesses_closed(self, example_j, sync):
        on_deleted, on_descendant, elsewhere = valid_access(4), valid_access(7), valid_access(5)
        without_perimeter, ended = valid_access(None), valid_access(9)
        Access.objects.filter(pk=ended.pk).update(end_datetime=timezone.now() - timedelta(hours=1))
        ended.refresh_from_db()
        example_j.set_deleted(4)
        started = timezone.now()

        report = sync()

        assert (report.deleted, report.accesses_closed) == (3, 3)  # 4 and its descendants 7 and 9
        assert set(Perimeter.all_objects.filter(delete_datetime__isnull=False).values_list("id", flat=True)) == {
            4,
            7,
            9,
        }
        assert fields(1, "inferior_levels_ids") == ("5",)
        for closed in (on_deleted, on_descendant, without_perimeter):
            closed.refresh_from_db()
            assert started <= closed.end_datetime <= timezone.now()
        for untouched in (elsewhere, ended):
            assert Access.objects.get(pk=untouched.pk).end_datetime == untouched.end_datetime

    def test_deleted_perimeters_keep_their_deletion_date(self, example_j, sync):
        example_j.set_deleted(4)
        sync()
        deleted_at = fields(4, "delete_datetime", "update_datetime")

        report = sync()

        assert report == SyncReport()
        assert fields(4, "delete_datetime", "update_datetime") == deleted_at

    def test_reappearing_care_sites_are_restored(self, example_j, sync):
        example_j.set_deleted(4)
        sync()
        example_j.set_deleted(4, deleted=False)

        report = sync()

        assert (report.restored, report.updated, report.deleted) == (3, 4, 0)  # 4, 7, 9, and 1's children
        assert set(Perimeter.objects.values_list("id", flat=True)) == EXAMPLE_J_IDS
        assert fields(1, "inferior_levels_ids") == ("4,5",)
        assert ancestors(7) == {7: 0, 4: 1, 1: 2, ROOT_ID: 3}


class TestSourceFilters:
    def test_types_outside_perimeter_types_are_ignored_with_their_sub_tree(self, example_j, sync):
        example_j.add(10, 5, cohort_id=12, type_="Secteur")
        example_j.add(11, 10, cohort_id=13, type_=TYPES[4])

        report = sync()

        assert (report.created, report.updated) == (0, 0)
        assert not Perimeter.all_objects.filter(pk__in=[10, 11]).exists()

    def test_deleted_relationships_and_lists_do_not_count(self, example_j, sync):
        example_j.execute("UPDATE omop.fact_relationship SET delete_datetime = now() WHERE fact_id_1 = 8")
        example_j.execute("UPDATE omop.list SET delete_datetime = now() WHERE _sourcereferenceid = '6'")

        report = sync()

        assert report.deleted == 2
        assert set(Perimeter.all_objects.filter(delete_datetime__isnull=False).values_list("id", flat=True)) == {6, 8}


class TestNothingToDo:
    def test_second_run_writes_nothing(self, example_j, sync, cohort_id_changes):
        before = snapshot()
        closure = list(PerimeterClosure.objects.order_by("id").values_list())
        generation = cache.get("respgen:accesses.Perimeter")

        report = sync()

        assert report == SyncReport() and not report.changed
        assert snapshot() == before  # update_datetime included
        assert list(PerimeterClosure.objects.order_by("id").values_list()) == closure
        assert cache.get("respgen:accesses.Perimeter") == generation
        assert cohort_id_changes == []

    def test_a_run_that_writes_invalidates_the_response_caches(self, example_j, sync):
        generations = cache.get_many(["respgen:accesses.Perimeter", "respgen:accesses.Access"])
        example_j.rename(9, "Renamed")

        sync()

        after = cache.get_many(["respgen:accesses.Perimeter", "respgen:accesses.Access"])
        assert len(after) == 2 and all(after[key] != generations.get(key) for key in after)


class TestBrokenSource:
    def test_absent_root_changes_nothing_and_logs_an_error(self, example_j, sync, info_log):
        example_j.set_deleted(ROOT_ID)
        before = snapshot()

        report = sync()

        assert report.error and str(ROOT_ID) in report.error
        assert snapshot() == before
        errors = [r.getMessage() for r in info_log.records if r.levelname == "ERROR"]
        assert len(errors) == 1 and "ROOT_PERIMETER_ID" in errors[0]

    def test_missing_concepts_change_nothing(self, example_j, sync, info_log):
        example_j.execute("DELETE FROM concept_fhir WHERE source_concept_name = 'Care Site is part of Care Site'")
        before = snapshot()

        report = sync()

        assert "Care Site is part of Care Site" in report.error
        assert snapshot() == before
        assert any(r.levelname == "ERROR" for r in info_log.records)


def test_queries_do_not_grow_with_the_tree(omop, sync, django_assert_max_num_queries):
    omop.add(ROOT_ID, cohort_id=1, type_=TYPES[0])
    for hospital in range(1, 31):
        omop.add(hospital, ROOT_ID, cohort_id=100 + hospital)
        for unit in range(10):
            omop.add(1000 * hospital + unit, hospital, cohort_id=100_000 + 1000 * hospital + unit, type_=TYPES[4])

    with CaptureQueriesContext(connections[SOURCE]) as source_queries, django_assert_max_num_queries(15):
        report = sync()

    assert report.created == 331
    assert len(source_queries) == 2  # the concepts, then the whole tree
