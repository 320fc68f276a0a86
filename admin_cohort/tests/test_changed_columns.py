"""A `save()` of a loaded row writes only what changed since it was loaded (admin_cohort.changed_columns).

Whatever the code that saves, a column it did not touch keeps the value another transaction wrote meanwhile:
a job stays finished, a deleted row stays deleted.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from admin_cohort.models import User
from cohort.models import CohortResult, DatedMeasure, JobStatus
from cohort.tests.builders import cohort_of, measure_of, snapshot_of
from content_management.models import Content
from content_management.tests.factories import ContentFactory
from tests.factories import UserFactory
from tests.races import while_a_write_is_uncommitted


@pytest.fixture
def cohort():
    return cohort_of(measure_of(snapshot_of(UserFactory(), "1001"), status=JobStatus.FINISHED))


def _finish(cohort: CohortResult) -> None:
    CohortResult.objects.filter(pk=cohort.pk).update(request_job_status=JobStatus.FINISHED, group_id="777")


@pytest.mark.django_db(transaction=True)
def test_a_save_racing_another_transaction_keeps_what_it_committed(cohort):
    def rename() -> None:
        loaded = CohortResult.objects.get(pk=cohort.pk)  # read before the other transaction commits
        loaded.name = "Renamed"
        loaded.save()  # waits on the row the other transaction holds

    while_a_write_is_uncommitted(lambda: _finish(cohort), rename)

    saved = CohortResult.objects.get(pk=cohort.pk)
    assert (saved.name, saved.request_job_status, saved.group_id) == ("Renamed", JobStatus.FINISHED, "777")


@pytest.mark.django_db
def test_a_stale_instance_writes_only_the_columns_it_changed(cohort):
    stale = CohortResult.objects.get(pk=cohort.pk)
    _finish(cohort)
    stale.name = "Renamed"
    stale.save()

    saved = CohortResult.objects.get(pk=cohort.pk)
    assert (saved.name, saved.request_job_status, saved.group_id) == ("Renamed", JobStatus.FINISHED, "777")


@pytest.mark.django_db
def test_every_save_of_the_same_instance_writes_only_its_own_changes(cohort):
    loaded = CohortResult.objects.get(pk=cohort.pk)
    loaded.name = "First"
    loaded.save()
    _finish(cohort)
    loaded.description = "Second"
    loaded.save()

    saved = CohortResult.objects.get(pk=cohort.pk)
    assert (saved.name, saved.description, saved.request_job_status) == ("First", "Second", JobStatus.FINISHED)


@pytest.mark.django_db
def test_a_refreshed_instance_compares_with_what_it_refreshed(cohort):
    loaded = CohortResult.objects.get(pk=cohort.pk)
    CohortResult.objects.filter(pk=cohort.pk).update(name="Renamed elsewhere")
    loaded.refresh_from_db()
    _finish(cohort)
    loaded.description = "Described"
    loaded.save()

    saved = CohortResult.objects.get(pk=cohort.pk)
    assert (saved.name, saved.description, saved.request_job_status) == (
        "Renamed elsewhere",
        "Described",
        JobStatus.FINISHED,
    )


@pytest.mark.django_db
def test_a_deferred_field_set_later_is_saved(cohort):
    loaded = CohortResult.objects.only("uuid").get(pk=cohort.pk)
    _finish(cohort)
    loaded.description = "Described"
    loaded.save()

    saved = CohortResult.objects.get(pk=cohort.pk)
    assert (saved.description, saved.request_job_status) == ("Described", JobStatus.FINISHED)


@pytest.mark.django_db
def test_reading_a_deferred_field_keeps_the_changes_made_before(cohort):
    # Django loads a deferred field with a partial refresh: it must not make earlier changes look saved.
    loaded = CohortResult.objects.only("uuid", "name").get(pk=cohort.pk)
    loaded.name = "Renamed"
    assert loaded.description == cohort.description  # reading it loads the deferred column
    loaded.refresh_from_db(fields=["favorite"])
    loaded.save()

    assert CohortResult.objects.get(pk=cohort.pk).name == "Renamed"


@pytest.mark.django_db
def test_a_json_value_changed_in_place_is_saved(cohort):
    measure = DatedMeasure.objects.get(pk=cohort.dated_measure_id)
    measure.extra = {"stage": ["criteria"]}
    measure.save()

    loaded = DatedMeasure.objects.get(pk=measure.pk)
    loaded.extra["stage"].append("done")
    loaded.save()

    assert DatedMeasure.objects.get(pk=measure.pk).extra == {"stage": ["criteria", "done"]}


@pytest.mark.django_db
def test_a_save_stamps_the_modification_time_even_without_a_change(cohort):
    loaded = CohortResult.objects.get(pk=cohort.pk)
    before = loaded.modified_at
    loaded.save()

    assert CohortResult.objects.get(pk=cohort.pk).modified_at > before


@pytest.mark.django_db
def test_a_soft_deleted_content_stays_deleted_when_a_stale_instance_is_saved():
    content = ContentFactory(title="Banner", content_type="BANNER_INFO")
    stale = Content.objects.get(pk=content.pk)
    deleted_at = timezone.now()
    Content.objects.filter(pk=content.pk).update(deleted_at=deleted_at)
    stale.title = "Edited"
    stale.save()

    saved = Content.objects.get(pk=content.pk)
    assert (saved.title, saved.deleted_at) == ("Edited", deleted_at)


@pytest.mark.django_db
def test_a_stale_user_keeps_a_deactivation_made_meanwhile():
    user = UserFactory()
    stale = User.objects.get(pk=user.pk)
    User.all_objects.filter(pk=user.pk).update(delete_datetime=timezone.now())
    stale.email = "new@example.org"
    stale.save()

    saved = User.all_objects.get(pk=user.pk)
    assert saved.email == "new@example.org"
    assert saved.delete_datetime is not None


@pytest.mark.django_db
def test_new_rows_and_explicit_update_fields_save_as_usual(cohort):
    content = Content(title="New", content="Body", page="home", content_type="BANNER_INFO")
    content.save()
    assert Content.objects.filter(pk=content.pk, title="New").exists()

    loaded = CohortResult.objects.get(pk=cohort.pk)
    loaded.name, loaded.description = "Named", "Not saved"
    loaded.save(update_fields=["name"])
    saved = CohortResult.objects.get(pk=cohort.pk)
    assert (saved.name, saved.description) == ("Named", cohort.description)
