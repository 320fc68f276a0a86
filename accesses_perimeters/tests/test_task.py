"""The periodic task, run by a real Celery worker on the run's Redis queue."""

from __future__ import annotations

import time

import pytest

from accesses.models import Perimeter
from accesses_perimeters.tasks import perimeters_daily_update
from accesses_perimeters.tests.conftest import DATABASES

pytestmark = pytest.mark.slow


@pytest.mark.django_db(transaction=True, databases=DATABASES)
def test_daily_update_syncs_the_tree_in_a_worker(omop, celery_worker):
    omop.add_example_j()  # committed: the worker reads the source through its own connection

    perimeters_daily_update.delay()

    deadline = time.monotonic() + 20
    while Perimeter.objects.count() < 11 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert Perimeter.objects.count() == 11
    assert Perimeter.objects.get(pk=7).above_levels_ids == "999999,1,4"
