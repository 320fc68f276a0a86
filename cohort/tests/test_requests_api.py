"""Requests API, at the top level and under a folder (spec 02 §4.4, §3.3; client contract REQ-1..REQ-6)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from cohort.models import CohortResult, DatedMeasure, Folder, Request, RequestQuerySnapshot

pytestmark = pytest.mark.django_db

REQUESTS = "/cohort/requests/"
REQUEST_KEYS = {
    "uuid",
    "name",
    "description",
    "favorite",
    "query_snapshots",
    "shared_by",
    "parent_folder",
    "updated_at",
}
SUMMARY_KEYS = {"uuid", "name", "created_at", "cohorts_count", "patients_count", "version"}


def detail(request) -> str:
    return f"{REQUESTS}{request.uuid}/"


def in_folder(folder) -> str:
    return f"/cohort/folders/{folder.uuid}/requests/"


def at(day: int, hour: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, tzinfo=UTC)


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


class TestAuthentication:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("get", REQUESTS),
            ("post", REQUESTS),
            ("get", "detail"),
            ("patch", "detail"),
            ("delete", "detail"),
            ("get", "nested"),
            ("post", "nested"),
        ],
    )
    def test_anonymous_callers_are_refused(self, anonymous, researcher, make_request, method, path):
        request = make_request(researcher)
        url = {"detail": detail(request), "nested": in_folder(request.parent_folder)}.get(path, path)
        body = {"name": "x", "parent_folder": str(request.parent_folder_id)}
        response = getattr(anonymous, method)(url, body, format="json")
        assert response.status_code == 403
        assert list(Request.objects.values_list("name", flat=True)) == ["Request 1"]


class TestRepresentation:
    def test_shape_of_a_request_with_versions(self, researcher_client, researcher, other, make_folder, make_request):
        folder = make_folder(researcher, name="Diabetes", description="T2")
        request = make_request(
            researcher, parent_folder=folder, name="R", description="d", favorite=True, shared_by=other
        )
        first = RequestQuerySnapshot.objects.create(owner=researcher, request=request, created_at=at(1), version=1)
        second = RequestQuerySnapshot.objects.create(
            owner=researcher,
            request=request,
            previous_snapshot=first,
            created_at=datetime(2026, 6, 2, 10, 0, 0, 123456, tzinfo=UTC),
            version=2,
            name="Finale",
        )

        body = researcher_client.get(detail(request)).json()

        assert set(body) == REQUEST_KEYS
        assert (body["uuid"], body["name"], body["description"], body["favorite"]) == (
            str(request.uuid),
            "R",
            "d",
            True,
        )
        assert body["shared_by"] == "Bob DURAND (4000002)"
        assert body["parent_folder"] == {"uuid": str(folder.uuid), "name": "Diabetes", "description": "T2"}
        # Python's text of the datetime, as the reference renders it (REQ-1)
        assert body["updated_at"] == "2026-06-02 10:00:00.123456+00:00"
        assert [s["uuid"] for s in body["query_snapshots"]] == [str(second.uuid), str(first.uuid)]
        assert body["query_snapshots"][0] == {
            "uuid": str(second.uuid),
            "name": "Finale",
            "created_at": "2026-06-02T10:00:00.123456Z",
            "cohorts_count": 0,
            "patients_count": None,
            "version": 2,
        }

    def test_without_snapshot_updated_at_is_null(self, researcher_client, researcher, make_request):
        body = researcher_client.get(detail(make_request(researcher))).json()
        assert (body["updated_at"], body["query_snapshots"], body["shared_by"]) == (None, [], None)

    def test_a_deleted_sharer_is_flagged(self, researcher_client, researcher, other, make_request):
        request = make_request(researcher, shared_by=other)
        other.delete_datetime = at(1)
        other.save()
        assert researcher_client.get(detail(request)).json()["shared_by"] == "Bob DURAND (4000002) (deleted)"

    def test_hidden_snapshots_are_neither_listed_nor_the_latest(
        self, researcher_client, researcher, make_request, make_snapshot
    ):
        request = make_request(researcher)
        kept = make_snapshot(researcher, request=request, created_at=at(1))
        make_snapshot(researcher, request=request, created_at=at(2)).delete()
        subset_copy = make_snapshot(researcher, request=request, created_at=at(3))
        CohortResult.objects.create(owner=researcher, request_query_snapshot=subset_copy, is_subset=True)

        body = researcher_client.get(detail(request)).json()

        assert [s["uuid"] for s in body["query_snapshots"]] == [str(kept.uuid)]
        assert body["updated_at"] == str(at(1))

    def test_counts_of_a_version(self, researcher_client, researcher, make_snapshot):
        snapshot = make_snapshot(researcher)

        def count(measure: int, day: int) -> DatedMeasure:
            return DatedMeasure.objects.create(
                owner=researcher, request_query_snapshot=snapshot, measure=measure, created_at=at(day)
            )

        def cohort(measure: DatedMeasure, **fields) -> CohortResult:
            return CohortResult.objects.create(
                owner=researcher, request_query_snapshot=snapshot, dated_measure=measure, **fields
            )

        used_by_a_cohort = count(100, 1)
        parent = cohort(used_by_a_cohort)
        count(200, 2)  # no cohort: shown
        cohort(count(300, 3), parent_cohort=parent, sampling_ratio=0.5)  # only used by a sample: not shown
        cohort(used_by_a_cohort).delete()  # deleted cohorts are not counted

        (summary,) = researcher_client.get(detail(snapshot.request)).json()["query_snapshots"]

        assert summary["patients_count"] == 200
        assert summary["cohorts_count"] == 2  # the cohort and its sample

    def test_a_deleted_count_is_not_the_patients_count(self, researcher_client, researcher, make_snapshot):
        snapshot = make_snapshot(researcher)
        DatedMeasure.objects.create(owner=researcher, request_query_snapshot=snapshot, measure=1, created_at=at(1))
        DatedMeasure.objects.create(
            owner=researcher, request_query_snapshot=snapshot, measure=2, created_at=at(2)
        ).delete()
        (summary,) = researcher_client.get(detail(snapshot.request)).json()["query_snapshots"]
        assert summary["patients_count"] == 1


class TestList:
    def test_lists_only_the_callers_requests(self, researcher_client, researcher, other, make_request):
        mine = make_request(researcher)
        make_request(other)
        body = researcher_client.get(REQUESTS).json()
        assert body["count"] == 1
        assert [row["uuid"] for row in body["results"]] == [str(mine.uuid)]

    def test_filters(self, researcher_client, researcher, other, make_folder, make_request):
        folder = make_folder(researcher)
        make_request(researcher, name="fav", favorite=True)
        make_request(researcher, name="shared", shared_by=other)
        make_request(researcher, name="in folder", parent_folder=folder)

        assert names(researcher_client.get(REQUESTS, {"favorite": "true"})) == ["fav"]
        assert sorted(names(researcher_client.get(REQUESTS, {"favorite": "false"}))) == ["in folder", "shared"]
        assert names(researcher_client.get(REQUESTS, {"shared_by": other.username})) == ["shared"]
        assert names(researcher_client.get(REQUESTS, {"parent_folder": str(folder.uuid)})) == ["in folder"]

    @pytest.mark.parametrize("params", [{"favorite": "yes"}, {"parent_folder": "nope"}, {"min_updated_at": "x"}])
    def test_malformed_filters_are_a_400(self, researcher_client, params):
        assert researcher_client.get(REQUESTS, params).status_code == 400

    def test_updated_at_bounds(self, researcher_client, researcher, make_request, make_snapshot):
        for day, name in ((1, "early"), (10, "late")):
            make_snapshot(researcher, request=make_request(researcher, name=name), created_at=at(day, 12))
        make_request(researcher, name="no version")

        assert names(researcher_client.get(REQUESTS, {"min_updated_at": "2026-06-05"})) == ["late"]
        assert names(researcher_client.get(REQUESTS, {"max_updated_at": "2026-06-05"})) == ["early"]
        both = {"min_updated_at": "2026-06-01T12:00:00Z", "max_updated_at": "2026-06-10T12:00:00Z"}
        assert sorted(names(researcher_client.get(REQUESTS, both))) == ["early", "late"]

    def test_search_name_and_description_as_substrings(self, researcher_client, researcher, make_request):
        make_request(researcher, name="Diabète", description="")
        make_request(researcher, name="Other", description="Patients DIABÉTIQUES")
        make_request(researcher, name="Asthma", description="")
        assert sorted(names(researcher_client.get(REQUESTS, {"search": "diab"}))) == ["Diabète", "Other"]
        assert names(researcher_client.get(REQUESTS, {"search": ".*"})) == []

    @pytest.mark.parametrize(
        ("ordering", "expected"),
        [
            ("name", ["a", "b", "c"]),
            ("-name", ["c", "b", "a"]),
            ("updated_at", ["b", "a", "c"]),  # no version last, as PostgreSQL sorts nulls
            ("-updated_at", ["c", "a", "b"]),
            ("parent_folder", ["c", "a", "b"]),  # by folder name
            ("-parent_folder", ["b", "a", "c"]),
            ("created_at", ["c", "b", "a"]),
            ("-modified_at", ["a", "b", "c"]),
        ],
    )
    def test_ordering(
        self, researcher_client, researcher, make_folder, make_request, make_snapshot, ordering, expected
    ):
        folders = {name: make_folder(researcher, name=name) for name in ("F2", "F3", "F1")}
        rows = {
            "a": make_request(researcher, name="a", parent_folder=folders["F2"], created_at=at(3)),
            "b": make_request(researcher, name="b", parent_folder=folders["F3"], created_at=at(2)),
            "c": make_request(researcher, name="c", parent_folder=folders["F1"], created_at=at(1)),
        }
        make_snapshot(researcher, request=rows["a"], created_at=at(20))
        make_snapshot(researcher, request=rows["b"], created_at=at(10))
        for name in ("c", "b", "a"):
            rows[name].save()  # modified_at: a is the latest
        assert names(researcher_client.get(REQUESTS, {"ordering": ordering})) == expected

    def test_pages_are_stable_when_the_sort_key_repeats(self, researcher_client, researcher, make_request):
        folder = Folder.objects.create(owner=researcher, name="f")
        for _ in range(7):
            make_request(researcher, name="same", parent_folder=folder)
        seen = []
        for offset in (0, 3, 6):
            page = researcher_client.get(REQUESTS, {"ordering": "name", "limit": 3, "offset": offset}).json()
            seen += [row["uuid"] for row in page["results"]]
        # every row exactly once, the ties broken by uuid
        assert seen == sorted(str(pk) for pk in Request.objects.values_list("pk", flat=True))

    def test_the_number_of_queries_does_not_grow_with_the_rows(
        self, researcher_client, researcher, other, make_request, make_snapshot, queries_of
    ):
        def fill(count: int) -> None:
            for _ in range(count):
                request = make_request(researcher, shared_by=other)
                first = make_snapshot(researcher, request=request)
                second = make_snapshot(researcher, previous=first)
                measure = DatedMeasure.objects.create(owner=researcher, request_query_snapshot=second, measure=5)
                CohortResult.objects.create(owner=researcher, request_query_snapshot=second, dated_measure=measure)

        fill(1)
        few = queries_of(researcher_client, REQUESTS, limit=-1, ordering="-updated_at")
        fill(12)
        assert queries_of(researcher_client, REQUESTS, limit=-1, ordering="-updated_at") == few

    def test_a_page_costs_three_queries(
        self, researcher_client, researcher, make_request, make_snapshot, django_assert_max_num_queries
    ):
        for _ in range(5):
            make_snapshot(researcher, request=make_request(researcher))
        with django_assert_max_num_queries(2 + 3):  # authentication + count, page, versions
            response = researcher_client.get(REQUESTS, {"limit": 20, "ordering": "-modified_at"})
        assert response.json()["count"] == 5


class TestInFolder:
    def test_lists_the_requests_of_the_folder(self, researcher_client, researcher, make_folder, make_request):
        folder = make_folder(researcher)
        make_request(researcher, name="inside", parent_folder=folder)
        make_request(researcher, name="outside")
        assert names(researcher_client.get(in_folder(folder))) == ["inside"]

    def test_a_foreign_unknown_or_malformed_folder_lists_nothing(
        self, researcher_client, researcher, other, make_request
    ):
        theirs = make_request(other)
        make_request(researcher)
        assert names(researcher_client.get(in_folder(theirs.parent_folder))) == []
        assert names(researcher_client.get(f"/cohort/folders/{uuid.uuid4()}/requests/")) == []
        assert names(researcher_client.get("/cohort/folders/nope/requests/")) == []

    def test_a_request_of_another_folder_is_not_found_there(
        self, researcher_client, researcher, make_folder, make_request
    ):
        request = make_request(researcher)
        other_folder = make_folder(researcher)
        response = researcher_client.get(f"{in_folder(other_folder)}{request.uuid}/")
        assert response.status_code == 404

    def test_creation_takes_the_folder_from_the_url(self, researcher_client, researcher, make_folder):
        folder, elsewhere = make_folder(researcher), make_folder(researcher)
        body = {"name": "r", "parent_folder_id": str(elsewhere.uuid)}
        response = researcher_client.post(in_folder(folder), body, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["parent_folder"]["uuid"] == str(folder.uuid)
        assert Request.objects.get().parent_folder == folder

    def test_creation_in_a_foreign_folder_is_refused(self, researcher_client, other, make_folder):
        folder = make_folder(other)
        response = researcher_client.post(in_folder(folder), {"name": "r"}, format="json")
        assert response.status_code == 400
        assert response.json() == {"parent_folder": [f'Invalid pk "{folder.uuid}" - object does not exist.']}
        assert not Request.all_objects.exists()

    def test_moving_a_request_through_the_nested_route(self, researcher_client, researcher, make_folder, make_request):
        request, target = make_request(researcher), make_folder(researcher, name="Target")
        url = f"{in_folder(request.parent_folder)}{request.uuid}/"
        response = researcher_client.patch(url, {"parent_folder": str(target.uuid)}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["parent_folder"]["name"] == "Target"


class TestCreate:
    def test_creates_a_request_as_the_web_app_sends_it(self, researcher_client, researcher, other, make_folder):
        folder = make_folder(researcher)
        body = {"uuid": "", "name": "Nouvelle requête 3", "parent_folder": str(folder.uuid), "description": ""}
        response = researcher_client.post(REQUESTS, {**body, "shared_by": other.username}, format="json")

        assert response.status_code == 201, response.content
        created = response.json()
        assert set(created) == REQUEST_KEYS
        request = Request.objects.get()
        assert created["uuid"] == str(request.uuid)
        assert (created["name"], created["favorite"], created["shared_by"]) == ("Nouvelle requête 3", False, None)
        assert (created["query_snapshots"], created["updated_at"]) == ([], None)
        assert created["parent_folder"]["uuid"] == str(folder.uuid)
        assert (request.owner, request.parent_folder, request.shared_by) == (researcher, folder, None)

    def test_the_parent_folder_id_alias(self, researcher_client, make_folder, researcher):
        folder = make_folder(researcher)
        response = researcher_client.post(REQUESTS, {"name": "r", "parent_folder_id": str(folder.uuid)}, format="json")
        assert response.status_code == 201
        assert Request.objects.get().parent_folder == folder

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "r"}, "parent_folder"),
            ({"name": "r", "parent_folder": None}, "parent_folder"),
            ({"name": "r", "parent_folder": "not-a-uuid"}, "parent_folder"),
            ({"name": "r", "parent_folder": {"uuid": "x"}}, "parent_folder"),
            ({"name": "r", "parent_folder": str(uuid.uuid4())}, "parent_folder"),
            ({"parent_folder": "mine"}, "name"),
            ({"name": "x" * 256, "parent_folder": "mine"}, "name"),
            ({"name": "r", "parent_folder": "mine", "favorite": "maybe"}, "favorite"),
        ],
    )
    def test_invalid_bodies_are_refused(self, researcher_client, researcher, make_folder, body, field):
        folder = make_folder(researcher)
        if body.get("parent_folder") == "mine":
            body = {**body, "parent_folder": str(folder.uuid)}
        response = researcher_client.post(REQUESTS, body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not Request.all_objects.exists()

    def test_a_foreign_folder_is_refused(self, researcher_client, other, make_folder):
        folder = make_folder(other)
        response = researcher_client.post(REQUESTS, {"name": "r", "parent_folder": str(folder.uuid)}, format="json")
        assert response.status_code == 400
        assert response.json() == {"parent_folder": [f'Invalid pk "{folder.uuid}" - object does not exist.']}
        assert not Request.all_objects.exists()

    def test_another_owner_is_refused(self, researcher_client, researcher, other, make_folder):
        body = {"name": "r", "parent_folder": str(make_folder(researcher).uuid), "owner": other.username}
        assert researcher_client.post(REQUESTS, body, format="json").status_code == 400
        assert not Request.all_objects.exists()


class TestUpdate:
    def test_edits_name_description_and_favorite(self, researcher_client, researcher, make_request):
        request = make_request(researcher)
        body = {"name": "Renamed", "description": "Why", "favorite": True}
        response = researcher_client.patch(detail(request), body, format="json")
        assert response.status_code == 200, response.content
        assert set(response.json()) == REQUEST_KEYS
        request.refresh_from_db()
        assert (request.name, request.description, request.favorite) == ("Renamed", "Why", True)

    def test_moves_to_another_own_folder(self, researcher_client, researcher, make_folder, make_request):
        request, target = make_request(researcher), make_folder(researcher)
        response = researcher_client.patch(detail(request), {"parent_folder": str(target.uuid)}, format="json")
        assert response.status_code == 200
        request.refresh_from_db()
        assert request.parent_folder == target

    def test_moving_to_a_foreign_folder_is_refused(
        self, researcher_client, researcher, other, make_folder, make_request
    ):
        request = make_request(researcher)
        folder = request.parent_folder
        target = make_folder(other)
        response = researcher_client.patch(detail(request), {"parent_folder": str(target.uuid)}, format="json")
        assert response.status_code == 400
        request.refresh_from_db()
        assert request.parent_folder == folder

    def test_shared_by_and_owner(self, researcher_client, researcher, other, make_request):
        request = make_request(researcher)
        response = researcher_client.patch(detail(request), {"shared_by": other.username}, format="json")
        assert response.status_code == 200
        assert researcher_client.patch(detail(request), {"owner": other.username}, format="json").status_code == 400
        request.refresh_from_db()
        assert (request.shared_by, request.owner) == (None, researcher)

    def test_a_foreign_request_is_a_404_and_unchanged(self, researcher_client, other, make_request):
        request = make_request(other, name="Theirs")
        assert researcher_client.patch(detail(request), {"name": "Mine"}, format="json").status_code == 404
        request.refresh_from_db()
        assert request.name == "Theirs"

    def test_put_is_not_allowed(self, researcher_client, researcher, make_request):
        request = make_request(researcher)
        body = {"name": "x", "parent_folder": str(request.parent_folder_id)}
        assert researcher_client.put(detail(request), body, format="json").status_code == 405
        request.refresh_from_db()
        assert request.name == "Request 1"


class TestDelete:
    def test_a_comma_list_deletes_the_callers_requests_and_their_versions(
        self, researcher_client, researcher, other, make_request, make_snapshot
    ):
        first, second, kept = make_request(researcher), make_request(researcher), make_request(researcher)
        theirs = make_request(other)
        snapshot = make_snapshot(researcher, request=first)

        response = researcher_client.delete(f"{REQUESTS}{first.uuid},{theirs.uuid},{second.uuid}/")

        assert response.status_code == 204
        assert set(Request.objects.all()) == {kept, theirs}
        deleted = RequestQuerySnapshot.all_objects.get(pk=snapshot.pk)
        assert deleted.deleted is not None and deleted.deleted_by_cascade
        assert Folder.objects.filter(pk=first.parent_folder_id).exists()  # the folder stays

    def test_a_single_foreign_request_is_a_404_and_kept(self, researcher_client, other, make_request):
        request = make_request(other)
        assert researcher_client.delete(detail(request)).status_code == 404
        assert Request.objects.filter(pk=request.pk).exists()

    def test_a_malformed_list_deletes_nothing(self, researcher_client, researcher, make_request):
        request = make_request(researcher)
        assert researcher_client.delete(f"{REQUESTS}{request.uuid},zesrtyuhio/").status_code == 400
        assert Request.objects.filter(pk=request.pk).exists()


class TestCache:
    def test_the_cached_list_follows_counts_and_deletions(
        self, researcher_client, researcher, make_snapshot, settings, django_capture_on_commit_callbacks
    ):
        settings.ENABLE_CACHE = True
        snapshot = make_snapshot(researcher)

        def versions() -> list[dict]:
            return [s for row in researcher_client.get(REQUESTS).json()["results"] for s in row["query_snapshots"]]

        assert [s["patients_count"] for s in versions()] == [None]
        DatedMeasure.objects.create(owner=researcher, request_query_snapshot=snapshot, measure=42)
        assert [s["patients_count"] for s in versions()] == [42]
        with django_capture_on_commit_callbacks(execute=True):  # bulk soft deletes invalidate on commit
            researcher_client.delete(f"/cohort/folders/{snapshot.request.parent_folder_id}/")
        assert versions() == []
