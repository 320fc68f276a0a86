"""Sharing a version of a request (spec 02 §10, §13; client contract RQS-5)."""

from __future__ import annotations

import pytest
from django.core import mail

from cohort.models import SHARED_FOLDER_NAME, DatedMeasure, Folder, Request, RequestQuerySnapshot
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SNAPSHOTS = "/cohort/request-query-snapshots/"


def share_url(snapshot) -> str:
    return f"{SNAPSHOTS}{snapshot.uuid}/share/"


@pytest.fixture
def shared(researcher, make_request, make_snapshot):
    """The version being shared: the second of a request with a count."""
    request = make_request(researcher, name="Diabète", description="Type 2")
    first = make_snapshot(researcher, request=request)
    snapshot = make_snapshot(researcher, previous=first, perimeters=("8312002244", "8312016789"), name="Finale")
    snapshot.translated_query = "translated"
    snapshot.save()
    DatedMeasure.objects.create(owner=researcher, request_query_snapshot=snapshot, measure=12)
    return snapshot


@pytest.fixture
def carol(db):
    return UserFactory(username="4000003", firstname="Carol", lastname="PETIT", email="carol@example.org")


def received(user) -> list[Request]:
    return list(Request.objects.filter(owner=user))


class TestShare:
    def test_each_recipient_gets_a_copy_in_the_received_folder(
        self, researcher_client, researcher, other, carol, shared
    ):
        body = {"name": "Shared name", "recipients": f"{other.username},{carol.username}", "notify_by_email": False}

        response = researcher_client.post(share_url(shared), body, format="json")

        assert response.status_code == 201, response.content
        assert response.content == b""
        for user in (other, carol):
            (copy,) = received(user)
            assert (copy.name, copy.description, copy.favorite, copy.shared_by) == (
                "Shared name",
                "Type 2",
                False,
                researcher,
            )
            assert (copy.parent_folder.name, copy.parent_folder.owner) == (SHARED_FOLDER_NAME, user)
            (version,) = RequestQuerySnapshot.objects.filter(request=copy)
            assert (version.owner, version.shared_by, version.previous_snapshot, version.version) == (
                user,
                researcher,
                None,
                1,
            )
            assert (version.serialized_query, version.translated_query, version.perimeters_ids, version.name) == (
                shared.serialized_query,
                "translated",
                ["8312002244", "8312016789"],
                "Finale",
            )
            assert not DatedMeasure.objects.filter(request_query_snapshot=version).exists()
        assert len(mail.outbox) == 0

    def test_the_recipient_sees_who_shared_it(self, researcher_client, other, other_client, shared):
        researcher_client.post(share_url(shared), {"recipients": other.username}, format="json")
        (row,) = other_client.get("/cohort/requests/").json()["results"]
        assert (row["name"], row["shared_by"]) == ("Diabète", "Alice MARTIN (4000001)")  # the request's name
        assert row["parent_folder"]["name"] == SHARED_FOLDER_NAME
        assert [s["version"] for s in row["query_snapshots"]] == [1]

    def test_the_received_folder_is_reused(self, researcher_client, other, make_folder, shared):
        existing = make_folder(other, name=SHARED_FOLDER_NAME)
        for _ in range(2):
            assert (
                researcher_client.post(share_url(shared), {"recipients": other.username}, format="json").status_code
                == 201
            )
        assert list(Folder.objects.filter(owner=other)) == [existing]
        assert len(received(other)) == 2

    def test_the_caller_may_share_with_themself_and_duplicates_count_once(self, researcher_client, researcher, shared):
        recipients = f"{researcher.username}, {researcher.username}"
        assert researcher_client.post(share_url(shared), {"recipients": recipients}, format="json").status_code == 201
        assert Request.objects.filter(owner=researcher, shared_by=researcher).count() == 1

    def test_the_nested_route(self, researcher_client, other, shared, make_request):
        url = f"/cohort/requests/{shared.request_id}/query-snapshots/{shared.uuid}/share/"
        assert researcher_client.post(url, {"recipients": other.username}, format="json").status_code == 201
        wrong_request = f"/cohort/requests/{make_request(other).uuid}/query-snapshots/{shared.uuid}/share/"
        assert researcher_client.post(wrong_request, {"recipients": other.username}, format="json").status_code == 404
        assert len(received(other)) == 2  # the request made above, and one copy


class TestRefusals:
    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({}, "No 'recipients' provided"),
            ({"recipients": ""}, "No 'recipients' provided"),
            ({"recipients": " , "}, "No 'recipients' provided"),
            ({"recipients": None}, "No 'recipients' provided"),
            ({"recipients": "4000002,9999998,9999999"}, "No users found with the following IDs: 9999998,9999999"),
        ],
    )
    def test_bad_recipients_create_nothing(self, researcher_client, other, shared, body, message):
        response = researcher_client.post(share_url(shared), body, format="json")
        assert response.status_code == 400
        assert response.json() == message
        assert received(other) == []
        assert not Folder.objects.filter(name=SHARED_FOLDER_NAME).exists()

    def test_a_deleted_user_is_unknown(self, researcher_client, other, shared):
        other.delete_datetime = shared.created_at
        other.save()
        response = researcher_client.post(share_url(shared), {"recipients": other.username}, format="json")
        assert response.status_code == 400
        assert received(other) == []

    @pytest.mark.parametrize("body", [{"recipients": ["4000002"]}, {"recipients": "4000002", "notify_by_email": "x"}])
    def test_malformed_bodies_are_refused(self, researcher_client, other, shared, body):
        assert researcher_client.post(share_url(shared), body, format="json").status_code == 400
        assert received(other) == []

    def test_a_foreign_snapshot_is_a_404(self, researcher_client, researcher, other, make_snapshot):
        theirs = make_snapshot(other)
        response = researcher_client.post(share_url(theirs), {"recipients": researcher.username}, format="json")
        assert response.status_code == 404
        assert received(researcher) == []

    def test_anonymous_callers_are_refused(self, anonymous, other, shared):
        assert anonymous.post(share_url(shared), {"recipients": other.username}, format="json").status_code == 403
        assert received(other) == []


class TestEmails:
    def test_recipients_with_an_address_are_told_after_commit(
        self, researcher_client, other, carol, shared, django_capture_on_commit_callbacks, settings
    ):
        settings.EMAIL_SUPPORT_CONTACT = "support@example.org"
        other.email = None
        other.save()
        body = {"recipients": f"{other.username},{carol.username}", "name": "Diabète & co", "notify_by_email": True}

        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            response = researcher_client.post(share_url(shared), body, format="json")
            assert len(mail.outbox) == 0  # nothing before the commit

        assert response.status_code == 201
        assert len(callbacks) >= 1
        (message,) = mail.outbox  # Bob has no address: skipped
        assert message.to == ["carol@example.org"]
        assert message.subject == "Alice MARTIN a partagé une requête avec vous"
        assert "Bonjour Carol PETIT" in message.body
        assert "Alice MARTIN" in message.body and "Diabète & co" in message.body
        assert "support@example.org" in message.body
        html = message.alternatives[0][0]
        assert "Diabète &amp; co" in html and "support@example.org" in html
        assert len(received(other)) == 1  # still shared

    def test_no_email_unless_asked(self, researcher_client, carol, shared, django_capture_on_commit_callbacks):
        with django_capture_on_commit_callbacks(execute=True):
            response = researcher_client.post(share_url(shared), {"recipients": carol.username}, format="json")
        assert response.status_code == 201
        assert mail.outbox == []

    def test_no_email_when_the_share_is_refused(
        self, researcher_client, carol, shared, django_capture_on_commit_callbacks
    ):
        body = {"recipients": f"{carol.username},9999999", "notify_by_email": True}
        with django_capture_on_commit_callbacks(execute=True):
            assert researcher_client.post(share_url(shared), body, format="json").status_code == 400
        assert mail.outbox == []
