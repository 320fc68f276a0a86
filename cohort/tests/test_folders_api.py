"""Folders ("projects") API (spec 02 §4.3, §1.6-§1.9; client contract FOL-1..FOL-5)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from cohort.models import CohortResult, DatedMeasure, Folder, Request, RequestQuerySnapshot

pytestmark = pytest.mark.django_db

FOLDERS = "/cohort/folders/"
FOLDER_KEYS = {"uuid", "name", "description", "created_at", "requests_count"}


def detail(folder) -> str:
    return f"{FOLDERS}{folder.uuid}/"


class TestAuthentication:
    @pytest.mark.parametrize(
        ("method", "path"),
        [("get", FOLDERS), ("post", FOLDERS), ("get", "detail"), ("patch", "detail"), ("delete", "detail")],
    )
    def test_anonymous_callers_are_refused(self, anonymous, researcher, make_folder, method, path):
        folder = make_folder(researcher)
        response = getattr(anonymous, method)(detail(folder) if path == "detail" else path, {}, format="json")
        assert response.status_code == 403
        assert Folder.objects.get().name == "Diabetes"


class TestList:
    def test_lists_the_callers_folders_with_their_alive_requests_count(
        self, researcher_client, researcher, other, make_folder, make_request
    ):
        folder = make_folder(researcher, name="Diabetes", description="Type 2")
        make_request(researcher, parent_folder=folder)
        make_request(researcher, parent_folder=folder).delete()
        make_folder(other, name="Not mine")

        response = researcher_client.get(FOLDERS)

        assert response.status_code == 200
        body = response.json()
        assert (body["count"], body["next"], body["previous"]) == (1, None, None)
        (row,) = body["results"]
        assert set(row) == FOLDER_KEYS  # the owner is never returned
        assert row["uuid"] == str(folder.uuid)
        assert (row["name"], row["description"], row["requests_count"]) == ("Diabetes", "Type 2", 1)
        assert row["created_at"] == folder.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def test_search_is_a_case_insensitive_substring_not_a_regex(self, researcher_client, researcher, make_folder):
        make_folder(researcher, name="Diabetes")
        make_folder(researcher, name="Asthma")

        assert [row["name"] for row in researcher_client.get(FOLDERS, {"search": "IABET"}).json()["results"]] == [
            "Diabetes"
        ]
        regex = researcher_client.get(FOLDERS, {"search": "D.*s"})
        assert (regex.status_code, regex.json()["count"]) == (200, 0)
        assert researcher_client.get(FOLDERS, {"search": "(["}).status_code == 200

    def test_name_filter_is_exact(self, researcher_client, researcher, make_folder):
        make_folder(researcher, name="Diabetes")
        make_folder(researcher, name="Diabetes 2")
        assert researcher_client.get(FOLDERS, {"name": "Diabetes"}).json()["count"] == 1

    def test_created_at_bounds_accept_dates_and_datetimes(self, researcher_client, researcher, make_folder):
        make_folder(researcher, name="old", created_at=datetime(2025, 1, 10, 12, tzinfo=UTC))
        make_folder(researcher, name="new", created_at=datetime(2026, 3, 10, 12, tzinfo=UTC))

        def names(**params):
            return sorted(row["name"] for row in researcher_client.get(FOLDERS, params).json()["results"])

        assert names(min_created_at="2026-01-01") == ["new"]
        assert names(max_created_at="2026-01-01") == ["old"]
        assert names(min_created_at="2025-01-10T11:00:00Z", max_created_at="2026-03-10T11:00:00Z") == ["old"]

    def test_a_malformed_date_is_a_400(self, researcher_client):
        response = researcher_client.get(FOLDERS, {"min_created_at": "yesterday"})
        assert response.status_code == 400

    @pytest.mark.parametrize(
        ("ordering", "expected"),
        [("name", ["a", "b", "c"]), ("-name", ["c", "b", "a"]), ("created_at", ["b", "c", "a"])],
    )
    def test_ordering(self, researcher_client, researcher, make_folder, ordering, expected):
        for day, name in ((3, "a"), (1, "b"), (2, "c")):
            make_folder(researcher, name=name, created_at=datetime(2026, 1, day, tzinfo=UTC))
        response = researcher_client.get(FOLDERS, {"ordering": ordering})
        assert [row["name"] for row in response.json()["results"]] == expected

    def test_newest_first_by_default_and_unknown_parameters_ignored(self, researcher_client, researcher, make_folder):
        for day, name in ((1, "a"), (3, "c"), (2, "b")):
            make_folder(researcher, name=name, created_at=datetime(2026, 1, day, tzinfo=UTC))
        response = researcher_client.get(FOLDERS, {"whatever": "1", "ordering": "not_a_field"})
        assert response.status_code == 200
        assert [row["name"] for row in response.json()["results"]] == ["c", "b", "a"]

    def test_limit_minus_one_returns_everything(self, researcher_client, researcher, make_folder):
        for index in range(25):
            make_folder(researcher, name=f"f{index}")
        assert len(researcher_client.get(FOLDERS).json()["results"]) == 20
        assert len(researcher_client.get(FOLDERS, {"limit": -1}).json()["results"]) == 25

    def test_the_number_of_queries_does_not_grow_with_the_rows(
        self, researcher_client, researcher, make_folder, make_request, queries_of
    ):
        make_request(researcher, parent_folder=make_folder(researcher))
        few = queries_of(researcher_client, FOLDERS, limit=-1)
        for _ in range(15):
            make_request(researcher, parent_folder=make_folder(researcher))
        assert queries_of(researcher_client, FOLDERS, limit=-1) == few

    def test_a_page_costs_a_count_and_one_select(
        self, researcher_client, researcher, make_folder, make_request, django_assert_max_num_queries
    ):
        for _ in range(10):
            make_request(researcher, parent_folder=make_folder(researcher))
        with django_assert_max_num_queries(2 + 2):  # authentication (token, user) + count + page
            assert researcher_client.get(FOLDERS).status_code == 200


class TestDetail:
    def test_own_folder(self, researcher_client, researcher, make_folder):
        folder = make_folder(researcher)
        response = researcher_client.get(detail(folder))
        assert response.status_code == 200
        assert set(response.json()) == FOLDER_KEYS

    @pytest.mark.parametrize("path", ["foreign", f"{FOLDERS}{uuid.uuid4()}/", f"{FOLDERS}not-a-uuid/"])
    def test_foreign_unknown_or_malformed_is_a_404(self, researcher_client, other, make_folder, path):
        folder = make_folder(other)
        response = researcher_client.get(detail(folder) if path == "foreign" else path)
        assert response.status_code == 404

    def test_no_redirect_without_the_trailing_slash(self, researcher_client, researcher, make_folder):
        folder = make_folder(researcher)
        assert researcher_client.get(f"{FOLDERS}{folder.uuid}").status_code == 404


class TestCreate:
    def test_creates_a_folder_of_the_caller(self, researcher_client, researcher):
        response = researcher_client.post(FOLDERS, {"name": "Projet de recherche par défaut"}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == FOLDER_KEYS
        assert (body["name"], body["description"], body["requests_count"]) == (
            "Projet de recherche par défaut",
            None,
            0,
        )
        folder = Folder.objects.get()
        assert (str(folder.uuid), folder.owner, folder.deleted) == (body["uuid"], researcher, None)

    def test_the_caller_may_name_themself_as_owner(self, researcher_client, researcher):
        response = researcher_client.post(FOLDERS, {"name": "f", "owner": researcher.username}, format="json")
        assert response.status_code == 201
        assert Folder.objects.get().owner == researcher

    def test_another_owner_is_refused(self, researcher_client, other):
        response = researcher_client.post(FOLDERS, {"name": "f", "owner": other.username}, format="json")
        assert response.status_code == 400
        assert response.json() == {"owner": [f'Invalid pk "{other.username}" - object does not exist.']}
        assert not Folder.all_objects.exists()

    @pytest.mark.parametrize(
        ("body", "field"),
        [({}, "name"), ({"name": None}, "name"), ({"name": ""}, "name"), ({"name": "x" * 51}, "name")],
    )
    def test_invalid_bodies_are_refused(self, researcher_client, body, field):
        response = researcher_client.post(FOLDERS, body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not Folder.all_objects.exists()

    def test_a_non_object_body_is_a_400(self, researcher_client):
        assert researcher_client.post(FOLDERS, ["name"], format="json").status_code == 400
        assert not Folder.all_objects.exists()

    def test_read_only_fields_are_ignored(self, researcher_client):
        body = {"name": "f", "uuid": str(uuid.uuid4()), "created_at": "2001-01-01T00:00:00Z", "requests_count": 9}
        response = researcher_client.post(FOLDERS, body, format="json")
        assert response.status_code == 201
        folder = Folder.objects.get()
        assert str(folder.uuid) != body["uuid"]
        assert folder.created_at.year > 2001


class TestUpdate:
    def test_renames_and_ignores_the_odd_parent_folder_key(self, researcher_client, researcher, make_folder):
        folder = make_folder(researcher)
        body = {"parent_folder": str(folder.uuid), "name": "Renamed", "description": "New", "created_at": "2001-01-01"}
        response = researcher_client.patch(detail(folder), body, format="json")
        assert response.status_code == 200, response.content
        assert (response.json()["name"], response.json()["description"]) == ("Renamed", "New")
        folder.refresh_from_db()
        assert (folder.name, folder.description, folder.created_at.year > 2001) == ("Renamed", "New", True)

    def test_a_foreign_folder_is_a_404_and_unchanged(self, researcher_client, other, make_folder):
        folder = make_folder(other, name="Theirs")
        assert researcher_client.patch(detail(folder), {"name": "Mine"}, format="json").status_code == 404
        folder.refresh_from_db()
        assert folder.name == "Theirs"

    def test_giving_it_to_another_user_is_refused(self, researcher_client, researcher, other, make_folder):
        folder = make_folder(researcher)
        response = researcher_client.patch(detail(folder), {"owner": other.username}, format="json")
        assert response.status_code == 400
        folder.refresh_from_db()
        assert folder.owner == researcher

    def test_a_too_long_name_is_refused(self, researcher_client, researcher, make_folder):
        folder = make_folder(researcher, name="Short")
        assert researcher_client.patch(detail(folder), {"name": "x" * 51}, format="json").status_code == 400
        folder.refresh_from_db()
        assert folder.name == "Short"

    def test_put_is_not_allowed(self, researcher_client, researcher, make_folder):
        folder = make_folder(researcher)
        response = researcher_client.put(detail(folder), {"name": "Renamed"}, format="json")
        assert response.status_code == 405
        folder.refresh_from_db()
        assert folder.name == "Diabetes"


class TestDelete:
    def test_soft_deletes_the_folder_and_everything_below(
        self, researcher_client, researcher, make_folder, make_request, make_snapshot
    ):
        folder = make_folder(researcher)
        snapshot = make_snapshot(researcher, request=make_request(researcher, parent_folder=folder))
        measure = DatedMeasure.objects.create(owner=researcher, request_query_snapshot=snapshot, measure=12)
        cohort = CohortResult.objects.create(owner=researcher, request_query_snapshot=snapshot, dated_measure=measure)
        untouched = make_folder(researcher, name="Other")

        response = researcher_client.delete(detail(folder))

        assert response.status_code == 204
        rows = [Folder.all_objects.get(pk=folder.pk)]
        cascaded = [
            Request.all_objects.get(parent_folder=folder),
            RequestQuerySnapshot.all_objects.get(pk=snapshot.pk),
            DatedMeasure.all_objects.get(pk=measure.pk),
            CohortResult.all_objects.get(pk=cohort.pk),
        ]
        assert rows[0].deleted is not None and rows[0].deleted_by_cascade is False
        assert all(row.deleted is not None and row.deleted_by_cascade for row in cascaded)
        assert list(Folder.objects.all()) == [untouched]
        assert not Request.objects.exists()
        assert not RequestQuerySnapshot.objects.exists()
        assert researcher_client.get(detail(folder)).status_code == 404
        assert researcher_client.get("/cohort/requests/").json()["count"] == 0

    def test_a_foreign_folder_is_a_404_and_kept(self, researcher_client, other, make_folder):
        folder = make_folder(other)
        assert researcher_client.delete(detail(folder)).status_code == 404
        assert Folder.objects.filter(pk=folder.pk).exists()

    def test_a_comma_list_deletes_only_the_callers_folders(self, researcher_client, researcher, other, make_folder):
        mine, also_mine, theirs = make_folder(researcher), make_folder(researcher), make_folder(other)
        response = researcher_client.delete(f"{FOLDERS}{mine.uuid},{theirs.uuid},{also_mine.uuid}/")
        assert response.status_code == 204
        assert list(Folder.objects.all()) == [theirs]

    def test_a_malformed_comma_list_deletes_nothing(self, researcher_client, researcher, make_folder):
        folder = make_folder(researcher)
        response = researcher_client.delete(f"{FOLDERS}{folder.uuid},not-a-uuid/")
        assert response.status_code == 400
        assert Folder.objects.filter(pk=folder.pk).exists()


class TestCache:
    def test_the_cached_list_follows_request_changes(self, researcher_client, researcher, make_folder, settings):
        settings.ENABLE_CACHE = True
        folder = make_folder(researcher)
        assert researcher_client.get(FOLDERS).json()["results"][0]["requests_count"] == 0
        body = {"name": "r", "parent_folder": str(folder.uuid)}
        assert researcher_client.post("/cohort/requests/", body, format="json").status_code == 201
        assert researcher_client.get(FOLDERS).json()["results"][0]["requests_count"] == 1
