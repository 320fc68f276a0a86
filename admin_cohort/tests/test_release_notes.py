"""/release-notes/ (spec 01 §7.1): reads for authenticated users, writes for full admins, no DELETE."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from admin_cohort.models import ReleaseNote

pytestmark = pytest.mark.django_db
URL = "/release-notes/"
NEW_NOTE = {"title": "v3.4.0", "message": ["Nouvel export XLSX", "Corrections"], "author": "Équipe Cohort360"}


def titles(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [note["title"] for note in response.json()["results"]]


def snapshot() -> list[tuple]:
    return list(ReleaseNote.all_objects.order_by("id").values_list())


@pytest.fixture
def notes(db) -> list[ReleaseNote]:
    """Three notes inserted a day apart, oldest first, and one soft-deleted."""
    now = timezone.now()
    made = [
        ReleaseNote.objects.create(
            title=title, message=message, author="dev", insert_datetime=now - timedelta(days=days_ago)
        )
        for days_ago, title, message in [
            (3, "v3.1.0", ["Recherche de patients"]),
            (2, "v3.2.0", ["Export CSV", "Partage de requêtes"]),
            (1, "v3.3.0", []),
        ]
    ]
    deleted = ReleaseNote.objects.create(title="v3.0.0", message=["Ancienne"])
    deleted.delete()
    return made


class TestRead:
    def test_anonymous_is_refused(self, anonymous, notes):
        assert anonymous.get(URL).status_code == 403
        assert anonymous.get(f"{URL}{notes[0].id}/").status_code == 403

    def test_list_newest_first_in_a_page_envelope(self, user_client, notes):
        response = user_client.get(URL)
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert titles(response) == ["v3.3.0", "v3.2.0", "v3.1.0"]
        assert set(body["results"][1]) == {"id", "insert_datetime", "update_datetime", "title", "message", "author"}
        assert body["results"][1]["message"] == ["Export CSV", "Partage de requêtes"]

    @pytest.mark.parametrize(
        ("search", "expected"),
        [
            ("v3.2", ["v3.2.0"]),
            ("PARTAGE", ["v3.2.0"]),
            ("requêtes", ["v3.2.0"]),
            ("patients", ["v3.1.0"]),
            ("absent", []),
        ],
    )
    def test_search_over_title_and_message(self, user_client, notes, search, expected):
        assert titles(user_client.get(URL, {"search": search})) == expected

    def test_pages_of_twenty(self, user_client):
        for index in range(21):
            ReleaseNote.objects.create(title=f"note {index}", message=[])
        assert len(titles(user_client.get(URL))) == 20
        assert len(titles(user_client.get(URL, {"page": 2}))) == 1
        assert user_client.get(URL, {"page": 3}).status_code == 404

    def test_retrieve(self, user_client, notes):
        response = user_client.get(f"{URL}{notes[1].id}/")
        assert response.status_code == 200 and response.json()["title"] == "v3.2.0"
        deleted = ReleaseNote.all_objects.get(title="v3.0.0")
        assert user_client.get(f"{URL}{deleted.id}/").status_code == 404


class TestWrite:
    def test_full_admin_creates(self, admin_client):
        response = admin_client.post(URL, NEW_NOTE, format="json")
        assert response.status_code == 201, response.content
        assert {key: response.json()[key] for key in NEW_NOTE} == NEW_NOTE
        note = ReleaseNote.objects.get(pk=response.json()["id"])
        assert note.message == NEW_NOTE["message"] and note.author == "Équipe Cohort360"

    def test_message_may_be_empty_and_author_omitted(self, admin_client):
        response = admin_client.post(URL, {"title": "v3.5.0", "message": []}, format="json")
        assert response.status_code == 201 and response.json()["author"] is None

    def test_full_admin_patches(self, admin_client, notes):
        response = admin_client.patch(f"{URL}{notes[0].id}/", {"message": ["Corrigé"], "id": 999}, format="json")
        assert response.status_code == 200
        notes[0].refresh_from_db()
        assert notes[0].message == ["Corrigé"] and notes[0].title == "v3.1.0"

    @pytest.mark.parametrize("client_name", ["anonymous", "user_client"])
    def test_writes_by_others_give_403_and_change_nothing(self, request, notes, client_name):
        client = request.getfixturevalue(client_name)
        before = snapshot()
        assert client.post(URL, NEW_NOTE, format="json").status_code == 403
        assert client.patch(f"{URL}{notes[0].id}/", {"title": "Hacked"}, format="json").status_code == 403
        assert client.delete(f"{URL}{notes[0].id}/").status_code == 403
        assert snapshot() == before

    def test_delete_and_put_are_not_offered(self, admin_client, notes):
        before = snapshot()
        assert admin_client.delete(f"{URL}{notes[0].id}/").status_code == 405
        assert admin_client.put(f"{URL}{notes[0].id}/", NEW_NOTE, format="json").status_code == 405
        assert snapshot() == before

    @pytest.mark.parametrize(
        "body",
        [
            {"message": ["x"]},
            {"title": "v4", "message": "not a list"},
            {"title": "v4", "message": None},
            {"title": "v4"},
            {"title": "", "message": []},
            {"title": "v4", "message": [{"nested": "object"}]},
            {"title": "v4", "message": [None]},
            {"title": "v4\x00", "message": []},
        ],
    )
    def test_bad_creation_gives_400_and_creates_nothing(self, admin_client, notes, body):
        before = snapshot()
        response = admin_client.post(URL, body, format="json")
        assert response.status_code == 400, response.content
        assert snapshot() == before

    @pytest.mark.parametrize("body", [{"title": ""}, {"message": "text"}, {"message": [["nested"]]}, {"title": None}])
    def test_bad_patch_gives_400_and_changes_nothing(self, admin_client, notes, body):
        before = snapshot()
        response = admin_client.patch(f"{URL}{notes[0].id}/", body, format="json")
        assert response.status_code == 400, response.content
        assert snapshot() == before

    def test_patching_a_deleted_note_gives_404(self, admin_client, notes):
        deleted = ReleaseNote.all_objects.get(title="v3.0.0")
        assert admin_client.patch(f"{URL}{deleted.id}/", {"title": "back"}, format="json").status_code == 404
