"""POST (WEB-3), PATCH (WEB-4), DELETE (WEB-5) on /webcontent/contents/: full admins only."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from content_management.models import Content, ContentMetadata
from content_management.services import delete_content
from content_management.tests.factories import ContentFactory, with_metadata
from tests.races import while_a_write_is_uncommitted

pytestmark = pytest.mark.django_db
URL = "/webcontent/contents/"
INVALID_TYPE = "Invalid content type. Available types are: BANNER_WARNING, BANNER_INFO, BANNER_ERROR, RELEASE_NOTE"
PORTAIL_NEW_CONTENT = {
    "title": "Version 3.4",
    "content": "**Nouveautés** ...",
    "content_type": "RELEASE_NOTE",
    "page": "accueil",
    "metadata": {"order": 1},
}


def metadata_of(content: Content) -> dict[str, str]:
    return dict(ContentMetadata.objects.filter(content=content).values_list("name", "value"))


def snapshot() -> tuple[list, list]:
    """Every stored row of both tables, to check that a refused request changed nothing."""
    return list(Content.objects.order_by("id").values()), list(ContentMetadata.objects.order_by("id").values())


@pytest.fixture
def banner(db) -> Content:
    return with_metadata(ContentFactory(title="Maintenance", content_type="BANNER_WARNING"), order="1", style="dark")


class TestRefused:
    @pytest.fixture(params=["anonymous", "user_client"])
    def refused_client(self, request):
        return request.getfixturevalue(request.param)

    def test_writes_by_anonymous_or_non_admin_give_403_and_change_nothing(self, refused_client, banner):
        before = snapshot()
        responses = [
            refused_client.post(URL, PORTAIL_NEW_CONTENT, format="json"),
            refused_client.patch(f"{URL}{banner.id}/", {"title": "Hacked", "metadata": {}}, format="json"),
            refused_client.put(f"{URL}{banner.id}/", {**PORTAIL_NEW_CONTENT}, format="json"),
            refused_client.delete(f"{URL}{banner.id}/"),
        ]
        assert [r.status_code for r in responses] == [403, 403, 403, 403]
        assert snapshot() == before

    def test_put_is_not_offered(self, admin_client, banner):
        before = snapshot()
        assert admin_client.put(f"{URL}{banner.id}/", PORTAIL_NEW_CONTENT, format="json").status_code == 405
        assert snapshot() == before


class TestCreate:
    def test_portail_creation_returns_metadata_as_strings(self, admin_client):
        response = admin_client.post(URL, PORTAIL_NEW_CONTENT, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["metadata"] == {"order": "1"}
        assert body["content_type_display"] == "Note de version"
        assert body["deleted_at"] is None and body["created_at"] and body["modified_at"]
        content = Content.objects.get(pk=body["id"])
        assert (content.title, content.page, content.content_type) == ("Version 3.4", "accueil", "RELEASE_NOTE")
        assert metadata_of(content) == {"order": "1"}

    def test_creation_without_metadata(self, admin_client):
        body = {key: value for key, value in PORTAIL_NEW_CONTENT.items() if key != "metadata"}
        response = admin_client.post(URL, body, format="json")
        assert response.status_code == 201 and response.json()["metadata"] == {}

    def test_all_metadata_names_and_read_only_keys_ignored(self, admin_client):
        body = {
            **PORTAIL_NEW_CONTENT,
            "metadata": {"order": 2.5, "style": "dark", "tags": "a,b"},
            "id": 999,
            "created_at": "2000-01-01T00:00:00Z",
            "content_type_display": "whatever",
        }
        response = admin_client.post(URL, body, format="json")
        assert response.status_code == 201
        created = response.json()
        assert created["metadata"] == {"order": "2.5", "style": "dark", "tags": "a,b"}
        assert created["id"] != 999 and not created["created_at"].startswith("2000")

    @pytest.mark.parametrize(
        ("change", "field", "message"),
        [
            ({"content_type": "BANNER"}, "content_type", INVALID_TYPE),
            ({"content_type": ""}, "content_type", INVALID_TYPE),
            ({"content_type": 3}, "content_type", INVALID_TYPE),
            (
                {"metadata": {"order": 1, "colour": "red", "size": "xl"}},
                "metadata",
                "Invalid metadata name(s): colour, size",
            ),
            ({"metadata": {"order": None}}, "metadata", None),
            ({"metadata": {"order": True}}, "metadata", None),
            ({"metadata": {"style": {"nested": 1}}}, "metadata", None),
            ({"metadata": {"tags": "x" * 256}}, "metadata", None),
            ({"metadata": ["order"]}, "metadata", None),
            ({"metadata": None}, "metadata", None),
            ({"title": "x" * 201}, "title", None),
            ({"page": "p" * 101}, "page", None),
            ({"title": ""}, "title", None),
            ({"content": None}, "content", None),
            ({"title": "nul\x00byte"}, "title", None),
            ({"deleted_at": "yesterday"}, "deleted_at", None),
        ],
    )
    def test_bad_input_gives_400_and_creates_nothing(self, admin_client, change, field, message):
        response = admin_client.post(URL, {**PORTAIL_NEW_CONTENT, **change}, format="json")
        assert response.status_code == 400, response.content
        errors = response.json()
        assert field in errors
        if message:
            assert errors[field] == [message]
        assert not Content.objects.exists() and not ContentMetadata.objects.exists()

    @pytest.mark.parametrize("missing", ["title", "content", "page", "content_type"])
    def test_required_fields(self, admin_client, missing):
        body = {key: value for key, value in PORTAIL_NEW_CONTENT.items() if key != missing}
        response = admin_client.post(URL, body, format="json")
        assert response.status_code == 400 and missing in response.json()
        assert not Content.objects.exists()

    def test_malformed_json_gives_400(self, admin_client):
        response = admin_client.post(URL, "{not json", content_type="application/json")
        assert response.status_code == 400 and not Content.objects.exists()

    def test_model_refuses_an_unknown_type_on_every_save(self, banner):
        banner.content_type = "POPUP"
        with pytest.raises(ValidationError):
            banner.save()
        assert Content.objects.get(pk=banner.pk).content_type == "BANNER_WARNING"


class TestUpdate:
    @pytest.mark.django_db(transaction=True)
    def test_an_edit_racing_a_delete_leaves_the_content_deleted(self, admin_client, banner):
        """The edit read the content before the delete committed: writing back every column would revive it."""
        response = while_a_write_is_uncommitted(
            lambda: delete_content(content=Content.objects.get(pk=banner.pk)),
            lambda: admin_client.patch(f"{URL}{banner.id}/", {"title": "Prolongée"}, format="json"),
        )
        assert response.status_code == 200, response.content
        assert Content.objects.get(pk=banner.pk).deleted_at is not None
        assert admin_client.get(f"{URL}{banner.id}/").status_code == 404

    def test_portail_full_object_patch_ignores_read_only_keys(self, admin_client, banner):
        listed = admin_client.get(f"{URL}{banner.id}/").json()
        edited = {
            **listed,
            "id": banner.id + 100,
            "title": "Maintenance prolongée",
            "metadata": {**listed["metadata"], "order": 3},
            "created_at": "2000-01-01T00:00:00.000000Z",
            "modified_at": "2000-01-01T00:00:00.000000Z",
            "content_type_display": "Autre",
        }
        response = admin_client.patch(f"{URL}{banner.id}/", edited, format="json")
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["id"] == banner.id and body["title"] == "Maintenance prolongée"
        assert body["metadata"] == {"order": "3", "style": "dark"}
        assert body["created_at"] == listed["created_at"] and body["modified_at"] > listed["modified_at"]
        assert body["content_type_display"] == "Bannière d'avertissement"
        assert Content.objects.count() == 1 and metadata_of(banner) == {"order": "3", "style": "dark"}

    def test_partial_patch_without_metadata_keeps_it(self, admin_client, banner):
        response = admin_client.patch(f"{URL}{banner.id}/", {"content_type": "BANNER_ERROR"}, format="json")
        assert response.status_code == 200
        assert response.json()["metadata"] == {"order": "1", "style": "dark"}
        assert response.json()["content_type_display"] == "Bannière d'erreur"
        banner.refresh_from_db()
        assert banner.content_type == "BANNER_ERROR" and banner.title == "Maintenance"
        assert metadata_of(banner) == {"order": "1", "style": "dark"}

    def test_metadata_replaces_all_metadata(self, admin_client, banner):
        response = admin_client.patch(f"{URL}{banner.id}/", {"metadata": {"tags": "x"}}, format="json")
        assert response.status_code == 200 and response.json()["metadata"] == {"tags": "x"}
        assert metadata_of(banner) == {"tags": "x"}

    def test_empty_metadata_clears_it(self, admin_client, banner):
        response = admin_client.patch(f"{URL}{banner.id}/", {"metadata": {}}, format="json")
        assert response.status_code == 200 and response.json()["metadata"] == {}
        assert metadata_of(banner) == {}

    def test_deleted_at_is_writable(self, admin_client, banner):
        moment = timezone.now() - timedelta(hours=1)
        response = admin_client.patch(f"{URL}{banner.id}/", {"deleted_at": moment.isoformat()}, format="json")
        assert response.status_code == 200
        assert admin_client.get(f"{URL}{banner.id}/").status_code == 404

    @pytest.mark.parametrize(
        "change",
        [
            {"content_type": "NEWS"},
            {"metadata": {"colour": "red"}},
            {"metadata": {"order": 1, "colour": "red"}, "title": "Changed"},
            {"title": ""},
            {"page": None},
        ],
    )
    def test_bad_input_gives_400_and_changes_nothing(self, admin_client, banner, change):
        before = snapshot()
        response = admin_client.patch(f"{URL}{banner.id}/", change, format="json")
        assert response.status_code == 400, response.content
        assert snapshot() == before

    def test_invalid_type_message(self, admin_client, banner):
        response = admin_client.patch(f"{URL}{banner.id}/", {"content_type": "NEWS"}, format="json")
        assert response.json() == {"content_type": [INVALID_TYPE]}

    def test_deleted_or_unknown_contents_give_404(self, admin_client, banner):
        Content.objects.filter(pk=banner.pk).update(deleted_at=timezone.now())
        assert admin_client.patch(f"{URL}{banner.id}/", {"title": "x"}, format="json").status_code == 404
        assert admin_client.patch(f"{URL}424242/", {"title": "x"}, format="json").status_code == 404
        assert Content.objects.get(pk=banner.pk).title == "Maintenance"


class TestDelete:
    def test_soft_delete(self, admin_client, banner):
        response = admin_client.delete(f"{URL}{banner.id}/")
        assert response.status_code == 204
        stored = Content.objects.get(pk=banner.pk)
        assert stored.deleted_at is not None
        assert metadata_of(banner) == {"order": "1", "style": "dark"}
        assert admin_client.get(URL).json()["count"] == 0
        assert admin_client.get(f"{URL}{banner.id}/").status_code == 404

    def test_deleting_twice_or_an_unknown_content_gives_404(self, admin_client, banner):
        assert admin_client.delete(f"{URL}{banner.id}/").status_code == 204
        first_deletion = Content.objects.get(pk=banner.pk).deleted_at
        assert admin_client.delete(f"{URL}{banner.id}/").status_code == 404
        assert Content.objects.get(pk=banner.pk).deleted_at == first_deletion
        assert admin_client.delete(f"{URL}424242/").status_code == 404
