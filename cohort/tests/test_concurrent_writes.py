"""An owner's edit racing another transaction on the same row keeps what that transaction committed.

The edit reads the row while a callback or a delete has changed it without committing yet, then waits on its
lock: a save of the whole row would write back the values it read (a job back to `started`, a deleted row alive).
"""

from __future__ import annotations

import pytest
from django.conf import settings

from cohort.models import CohortResult, FhirFilter, JobStatus, Request
from cohort.services import callbacks
from cohort.services.soft_delete import soft_delete
from cohort.tests.builders import cohort_of, measure_of, snapshot_of
from tests.factories import UserFactory
from tests.races import while_a_write_is_uncommitted

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def owner():
    return UserFactory()


@pytest.fixture
def client(owner, make_client):
    return make_client(owner)


def test_renaming_a_cohort_while_its_callback_finishes_it_keeps_the_end(owner, client):
    cohort = cohort_of(measure_of(snapshot_of(owner, "1001"), status=JobStatus.FINISHED), status=JobStatus.STARTED)

    def finish():
        payload = {"request_job_status": "finished", "group.id": "777", "group.count": "42"}
        callbacks.cohort_callback(cohort.pk, payload, caller=settings.QUERY_EXECUTOR_USERNAME)

    response = while_a_write_is_uncommitted(
        finish, lambda: client.patch(f"/cohort/cohorts/{cohort.pk}/", {"name": "Renamed"}, format="json")
    )

    assert response.status_code == 200, response.content
    assert response.json()["request_job_status"] == JobStatus.FINISHED
    cohort = CohortResult.objects.get(pk=cohort.pk)
    assert (cohort.name, cohort.request_job_status, cohort.group_id) == ("Renamed", JobStatus.FINISHED, "777")


def test_renaming_a_request_while_it_is_deleted_keeps_it_deleted(owner, client):
    request = snapshot_of(owner, "1001").request

    response = while_a_write_is_uncommitted(
        lambda: soft_delete(Request, [request.pk]),
        lambda: client.patch(f"/cohort/requests/{request.pk}/", {"name": "Renamed"}, format="json"),
    )

    assert response.status_code == 404, response.content  # the delete won
    assert Request.all_objects.get(pk=request.pk).deleted is not None
    assert client.get(f"/cohort/requests/{request.pk}/").status_code == 404


def test_renaming_a_fhir_filter_while_it_is_deleted_keeps_it_deleted(owner, client):
    fhir_filter = FhirFilter.objects.create(
        owner=owner, fhir_resource="Patient", fhir_version="4.0", name="Old name", filter="gender=f"
    )

    response = while_a_write_is_uncommitted(
        lambda: soft_delete(FhirFilter, [fhir_filter.pk]),
        lambda: client.patch(f"/cohort/fhir-filters/{fhir_filter.pk}/", {"name": "New name"}, format="json"),
    )

    assert response.status_code == 200, response.content
    assert FhirFilter.all_objects.get(pk=fhir_filter.pk).deleted is not None
