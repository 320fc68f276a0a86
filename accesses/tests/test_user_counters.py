"""Per-perimeter user counters (spec 01 §14), on the reference tree of §10."""

from __future__ import annotations

import time

import pytest

from accesses.models import Perimeter
from accesses.services.user_counters import count_users_on_perimeters
from accesses.tasks import count_users_on_perimeters as count_users_task
from accesses.tests.conftest import APHP, TREE_PARENTS, build_tree
from tests.factories import RoleFactory, UserFactory, grant

ROOT = APHP
# Worked example I, completed to every perimeter: (direct, above, inferior).
EXAMPLE_I = {
    ROOT: (1, 0, 7),
    0: (2, 1, 4),
    1: (1, 1, 0),
    2: (1, 1, 0),
    3: (1, 3, 0),
    4: (0, 3, 2),
    5: (1, 3, 0),
    11: (1, 3, 0),
    12: (1, 3, 0),
    6: (0, 2, 0),
    7: (0, 2, 0),
    8: (0, 2, 0),
    9: (0, 2, 0),
    10: (0, 2, 0),
    13: (0, 2, 0),
    14: (0, 2, 0),
}


def counters() -> dict[int, tuple[int, int, int]]:
    rows = Perimeter.objects.values_list(
        "id", "count_allowed_users", "count_allowed_users_above_levels", "count_allowed_users_inferior_levels"
    )
    return {perimeter_id: tuple(values) for perimeter_id, *values in rows}


def grant_example_i() -> None:
    """APHP u1; P0 u2 and u3; P1 u3; P2 u4 (twice); P3 u5; P5 u6; P11 u7; P12 u8; an inactive profile on P5."""
    reading = RoleFactory(name="Lecture", right_read_patient_nominative=True)
    perimeters = Perimeter.objects.in_bulk()
    u1, u2, u3, u4, u5, u6, u7, u8 = UserFactory.create_batch(8)
    for user, perimeter_id in [(u1, ROOT), (u2, 0), (u3, 0), (u3, 1), (u4, 2), (u4, 2)]:
        grant(user, reading, perimeters[perimeter_id])
    for user, perimeter_id in [(u5, 3), (u6, 5), (u7, 11), (u8, 12)]:
        grant(user, reading, perimeters[perimeter_id])
    inactive = grant(UserFactory(), reading, perimeters[5]).profile
    inactive.is_active = False
    inactive.save()


@pytest.fixture
def reference_tree(db) -> None:
    build_tree(TREE_PARENTS)


def test_worked_example_i(reference_tree):
    grant_example_i()
    assert count_users_on_perimeters() == len(EXAMPLE_I)
    assert counters() == EXAMPLE_I


def test_above_counts_only_rights_reaching_sub_perimeters(reference_tree):
    users_manager = RoleFactory(right_manage_users=True)
    grant(UserFactory(), users_manager, Perimeter.objects.get(id=0))
    count_users_on_perimeters()
    assert counters()[0] == (1, 0, 0)
    assert counters()[3] == (0, 0, 0)
    assert counters()[ROOT] == (0, 0, 1)


def test_expired_and_deleted_accesses_are_not_counted(reference_tree):
    reading = RoleFactory(right_read_patient_nominative=True)
    grant(UserFactory(), reading, Perimeter.objects.get(id=0), days=-1)
    grant(UserFactory(), reading, Perimeter.objects.get(id=0)).delete()
    assert count_users_on_perimeters() == 0
    assert set(counters().values()) == {(0, 0, 0)}


def test_correct_counters_are_left_untouched(reference_tree):
    grant_example_i()
    count_users_on_perimeters()
    written = dict(Perimeter.objects.values_list("id", "update_datetime"))

    grant(UserFactory(), RoleFactory(), Perimeter.objects.get(id=7))
    assert count_users_on_perimeters() == 3

    rewritten = {pid for pid, at in Perimeter.objects.values_list("id", "update_datetime") if at != written[pid]}
    assert rewritten == {7, 1, ROOT}
    assert (counters()[7], counters()[1], counters()[ROOT]) == ((1, 2, 0), (1, 1, 1), (1, 0, 8))
    assert count_users_on_perimeters() == 0


def test_cached_perimeter_answers_are_refreshed(
    reference_tree, settings, admin_client, django_capture_on_commit_callbacks
):
    settings.ENABLE_CACHE = True
    grant(UserFactory(), RoleFactory(), Perimeter.objects.get(id=0))
    assert admin_client.get("/accesses/perimeters/0/").json()["count_allowed_users"] == 0  # not counted yet
    with django_capture_on_commit_callbacks(execute=True):
        count_users_on_perimeters()
    assert admin_client.get("/accesses/perimeters/0/").json()["count_allowed_users"] == 1


@pytest.mark.parametrize("extra_leaves", [0, 600])
def test_queries_do_not_grow_with_the_tree(db, django_assert_max_num_queries, extra_leaves):
    build_tree({**TREE_PARENTS, **dict.fromkeys(range(100, 100 + extra_leaves), 13)})
    grant_example_i()
    reading = RoleFactory(right_read_patient_pseudonymized=True)
    for leaf in Perimeter.objects.filter(id__gte=100)[:50]:
        grant(UserFactory(), reading, leaf)
    # A few reads, then one UPDATE per distinct triple of values (about ten here), however many perimeters change.
    with django_assert_max_num_queries(16):
        assert count_users_on_perimeters() > extra_leaves


@pytest.mark.slow
def test_the_task_runs_in_a_worker(celery_worker):
    build_tree(TREE_PARENTS)
    grant_example_i()
    count_users_task.delay()
    deadline = time.monotonic() + 20
    while counters() != EXAMPLE_I and time.monotonic() < deadline:
        time.sleep(0.2)
    assert counters() == EXAMPLE_I
