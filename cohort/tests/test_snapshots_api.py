"""Request query snapshots ("versions") API (spec 02 §4.5, §3.4, §21.16-17; client contract RQS-1..RQS-4)."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from cohort.models import CohortResult, DatedMeasure, RequestQuerySnapshot, RequestQuerySnapshotPatch

pytestmark = pytest.mark.django_db

SNAPSHOTS = "/cohort/request-query-snapshots/"
SNAPSHOT_KEYS = {
    "uuid",
    "owner",
    "name",
    "version",
    "created_at",
    "modified_at",
    "request",
    "previous_snapshot",
    "serialized_query",
    "perimeters_ids",
    "dated_measures",
    "cohort_results",
}
MEASURE_KEYS = {
    "uuid",
    "owner",
    "request_query_snapshot",
    "count_outdated",
    "cohort_limit",
    "deleted",
    "deleted_by_cascade",
    "created_at",
    "modified_at",
    "request_job_id",
    "request_job_status",
    "request_job_fail_msg",
    "request_job_duration",
    "fhir_datetime",
    "measure",
    "measure_min",
    "measure_max",
    "extra",
    "count_task_id",
    "mode",
}
COHORT_KEYS = {
    "uuid",
    "name",
    "owner",
    "request_query_snapshot",
    "parent_cohort",
    "sampling_ratio",
    "sample_cohorts",
    "group_id",
    "request_job_status",
    "request_job_fail_msg",
    "request_job_duration",
    "created_at",
    "modified_at",
    "description",
    "favorite",
    "request",
}
PERIMETERS_ERROR = "Error extracting perimeters ids from JSON query - "


def detail(snapshot) -> str:
    return f"{SNAPSHOTS}{snapshot.uuid}/"


def of_request(request) -> str:
    return f"/cohort/requests/{request.uuid}/query-snapshots/"


def next_of(snapshot) -> str:
    return f"{SNAPSHOTS}{snapshot.uuid}/next-snapshots/"


def at(day: int) -> datetime:
    return datetime(2026, 6, day, tzinfo=UTC)


def uuids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["uuid"] for row in response.json()["results"]]


class TestAuthentication:
    @pytest.mark.parametrize(
        ("method", "path"),
        [("get", SNAPSHOTS), ("post", SNAPSHOTS), ("get", "detail"), ("patch", "detail"), ("get", "nested")],
    )
    def test_anonymous_callers_are_refused(self, anonymous, researcher, make_snapshot, snapshot_query, method, path):
        snapshot = make_snapshot(researcher)
        url = {"detail": detail(snapshot), "nested": of_request(snapshot.request)}.get(path, path)
        body = {"name": "x", "previous_snapshot": str(snapshot.uuid), "serialized_query": snapshot_query()}
        assert getattr(anonymous, method)(url, body, format="json").status_code == 403
        assert RequestQuerySnapshot.objects.get().name is None


class TestCreate:
    def test_the_first_version_of_a_request(self, researcher_client, researcher, make_request, snapshot_query):
        request = make_request(researcher)
        query = snapshot_query(["8312002244", "8312016789"])

        response = researcher_client.post(
            SNAPSHOTS, {"request_id": str(request.uuid), "serialized_query": query}, format="json"
        )

        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == SNAPSHOT_KEYS
        snapshot = RequestQuerySnapshot.objects.get()
        assert body["uuid"] == str(snapshot.uuid)
        assert (body["owner"], body["version"], body["name"]) == (researcher.username, 1, None)
        assert (body["request"], body["previous_snapshot"]) == (str(request.uuid), None)
        assert (body["serialized_query"], body["perimeters_ids"]) == (query, ["8312002244", "8312016789"])
        assert (body["dated_measures"], body["cohort_results"]) == ([], [])
        assert (snapshot.owner, snapshot.request, snapshot.perimeters_ids) == (
            researcher,
            request,
            ["8312002244", "8312016789"],
        )
        assert not DatedMeasure.objects.exists()  # saving launches no count

    def test_later_versions_follow_their_previous_one(
        self, researcher_client, researcher, make_snapshot, snapshot_query
    ):
        first = make_snapshot(researcher)
        body = {"previous_snapshot_id": str(first.uuid), "serialized_query": snapshot_query(["1"])}

        response = researcher_client.post(SNAPSHOTS, body, format="json")

        assert response.status_code == 201, response.content
        created = response.json()
        assert (created["version"], created["request"], created["previous_snapshot"]) == (
            2,
            str(first.request_id),
            str(first.uuid),
        )

    def test_branches_are_numbered_by_creation(self, researcher_client, researcher, make_snapshot, snapshot_query):
        first = make_snapshot(researcher)
        body = {"previous_snapshot": str(first.uuid), "serialized_query": snapshot_query()}
        versions = [researcher_client.post(SNAPSHOTS, body, format="json").json()["version"] for _ in range(2)]
        assert versions == [2, 3]
        children = researcher_client.get(next_of(first))
        assert len(uuids(children)) == 2

    def test_hidden_versions_are_not_counted(self, researcher_client, researcher, make_snapshot, snapshot_query):
        first = make_snapshot(researcher)
        subset_copy = make_snapshot(researcher, request=first.request)
        CohortResult.objects.create(owner=researcher, request_query_snapshot=subset_copy, is_subset=True)
        make_snapshot(researcher, request=first.request).delete()
        body = {"previous_snapshot": str(first.uuid), "serialized_query": snapshot_query()}
        assert researcher_client.post(SNAPSHOTS, body, format="json").json()["version"] == 2

    def test_request_and_previous_snapshot_may_both_be_sent_when_they_agree(
        self, researcher_client, researcher, make_snapshot, snapshot_query
    ):
        first = make_snapshot(researcher)
        body = {"request": str(first.request_id), "previous_snapshot": str(first.uuid), "serialized_query": "{}"}
        body["serialized_query"] = snapshot_query()
        response = researcher_client.post(SNAPSHOTS, body, format="json")
        assert response.status_code == 201, response.content

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            ({"serialized_query": "q"}, "Neither `previous_snapshot` nor `request` were provided"),
            (
                {"request": "R", "serialized_query": "q"},
                "Must provide a `previous_snapshot` if the request already has snapshots",
            ),
            (
                {"request": "R2", "previous_snapshot": "S"},
                "The provided request is different from the previous_snapshot's request",
            ),
            ({"previous_snapshot": "S"}, "serialized_query is required"),
            ({"previous_snapshot": "S", "serialized_query": None}, "serialized_query is required"),
            ({"previous_snapshot": "S", "serialized_query": {"sourcePopulation": {}}}, "serialized_query is required"),
        ],
    )
    def test_business_refusals_are_bare_strings(
        self, researcher_client, researcher, make_snapshot, make_request, snapshot_query, body, message
    ):
        existing = make_snapshot(researcher)
        values = {"R": str(existing.request_id), "R2": str(make_request(researcher).uuid), "S": str(existing.uuid)}
        body = {key: values.get(value, value) if isinstance(value, str) else value for key, value in body.items()}
        if body.get("serialized_query") == "q":
            body["serialized_query"] = snapshot_query()

        response = researcher_client.post(SNAPSHOTS, body, format="json")

        assert response.status_code == 400
        assert response.json() == message
        assert RequestQuerySnapshot.objects.count() == 1

    @pytest.mark.parametrize(
        ("query", "reason"),
        [
            ("not json", "Expecting value"),
            ("[]", "caresiteCohortList"),
            (json.dumps({"sourcePopulation": {}}), "caresiteCohortList"),
            (json.dumps({"sourcePopulation": {"caresiteCohortList": "1,2"}}), "caresiteCohortList"),
            (json.dumps({"sourcePopulation": {"caresiteCohortList": ["12", "abc"]}}), '"abc"'),
            (json.dumps({"sourcePopulation": {"caresiteCohortList": [12]}}), "12"),
            (json.dumps({"sourcePopulation": {"caresiteCohortList": ["١٢"]}}), "numeric"),
            (json.dumps({"sourcePopulation": {"caresiteCohortList": [None]}}), "null"),
        ],
    )
    def test_perimeters_must_be_a_list_of_numeric_strings(
        self, researcher_client, researcher, make_request, query, reason
    ):
        request = make_request(researcher)
        response = researcher_client.post(
            SNAPSHOTS, {"request": str(request.uuid), "serialized_query": query}, format="json"
        )
        assert response.status_code == 400
        message = response.json()
        assert isinstance(message, str)
        assert message.startswith(PERIMETERS_ERROR)
        assert reason in message
        assert not RequestQuerySnapshot.all_objects.exists()

    def test_an_empty_perimeter_list_is_accepted(self, researcher_client, researcher, make_request):
        query = json.dumps({"sourcePopulation": {"caresiteCohortList": []}})
        request = make_request(researcher)
        response = researcher_client.post(
            SNAPSHOTS, {"request": str(request.uuid), "serialized_query": query}, format="json"
        )
        assert response.status_code == 201
        assert response.json()["perimeters_ids"] == []

    @pytest.mark.parametrize("field", ["request", "previous_snapshot"])
    @pytest.mark.parametrize("parent", ["foreign", "unknown", "malformed"])
    def test_parents_must_be_the_callers(self, researcher_client, other, make_snapshot, snapshot_query, field, parent):
        theirs = make_snapshot(other)
        value = {
            "foreign": str(theirs.request_id if field == "request" else theirs.uuid),
            "unknown": str(uuid.uuid4()),
            "malformed": "12",
        }[parent]

        response = researcher_client.post(
            SNAPSHOTS, {field: value, "serialized_query": snapshot_query()}, format="json"
        )

        assert response.status_code == 400
        assert response.json() == {field: [f'Invalid pk "{value}" - object does not exist.']}
        assert RequestQuerySnapshot.objects.count() == 1

    def test_a_hidden_snapshot_cannot_be_derived_from(
        self, researcher_client, researcher, make_snapshot, snapshot_query
    ):
        subset_copy = make_snapshot(researcher)
        CohortResult.objects.create(owner=researcher, request_query_snapshot=subset_copy, is_subset=True)
        body = {"previous_snapshot": str(subset_copy.uuid), "serialized_query": snapshot_query()}
        assert researcher_client.post(SNAPSHOTS, body, format="json").status_code == 400


class TestNestedRoutes:
    def test_versions_of_a_request(self, researcher_client, researcher, make_request, make_snapshot, snapshot_query):
        request = make_request(researcher)
        response = researcher_client.post(of_request(request), {"serialized_query": snapshot_query()}, format="json")
        assert response.status_code == 201, response.content
        assert response.json()["request"] == str(request.uuid)
        make_snapshot(researcher)  # another request's
        assert uuids(researcher_client.get(of_request(request))) == [response.json()["uuid"]]

    def test_the_url_request_wins_over_the_body(self, researcher_client, researcher, make_request, snapshot_query):
        request, elsewhere = make_request(researcher), make_request(researcher)
        body = {"request_id": str(elsewhere.uuid), "serialized_query": snapshot_query()}
        assert researcher_client.post(of_request(request), body, format="json").status_code == 201
        assert RequestQuerySnapshot.objects.get().request == request

    def test_a_foreign_request_in_the_url_is_refused(self, researcher_client, other, make_request, snapshot_query):
        request = make_request(other)
        response = researcher_client.post(of_request(request), {"serialized_query": snapshot_query()}, format="json")
        assert response.status_code == 400
        assert not RequestQuerySnapshot.objects.exists()
        assert uuids(researcher_client.get(of_request(request))) == []

    def test_next_versions(self, researcher_client, researcher, make_snapshot, snapshot_query):
        first = make_snapshot(researcher)
        unrelated = make_snapshot(researcher, request=first.request)
        response = researcher_client.post(next_of(first), {"serialized_query": snapshot_query()}, format="json")
        assert response.status_code == 201, response.content
        child = response.json()
        assert (child["previous_snapshot"], child["request"], child["version"]) == (
            str(first.uuid),
            str(first.request_id),
            3,
        )
        assert uuids(researcher_client.get(next_of(first))) == [child["uuid"]]
        assert researcher_client.get(f"{next_of(first)}{child['uuid']}/").status_code == 200
        assert researcher_client.get(f"{next_of(first)}{unrelated.uuid}/").status_code == 404

    def test_malformed_parents_in_the_url_list_nothing(self, researcher_client, researcher, make_snapshot):
        make_snapshot(researcher)
        assert uuids(researcher_client.get("/cohort/requests/nope/query-snapshots/")) == []
        assert uuids(researcher_client.get(f"{SNAPSHOTS}nope/next-snapshots/")) == []


class TestList:
    def test_lists_the_callers_visible_snapshots_newest_first(
        self, researcher_client, researcher, other, make_snapshot
    ):
        first = make_snapshot(researcher, created_at=at(1))
        second = make_snapshot(researcher, previous=first, created_at=at(2))
        make_snapshot(researcher, previous=second, created_at=at(3)).delete()
        subset_copy = make_snapshot(researcher, request=first.request, created_at=at(4))
        CohortResult.objects.create(owner=researcher, request_query_snapshot=subset_copy, is_subset=True)
        make_snapshot(other)

        assert uuids(researcher_client.get(SNAPSHOTS)) == [str(second.uuid), str(first.uuid)]

    def test_filters(self, researcher_client, researcher, other, make_folder, make_request, make_snapshot):
        folder = make_folder(researcher)
        first = make_snapshot(researcher, request=make_request(researcher, parent_folder=folder), name="v1")
        second = make_snapshot(researcher, previous=first, shared_by=other)
        elsewhere = make_snapshot(researcher)

        def listed(**params) -> set[str]:
            return set(uuids(researcher_client.get(SNAPSHOTS, params)))

        assert listed(request_id=str(first.request_id)) == {str(first.uuid), str(second.uuid)}
        assert listed(request=str(elsewhere.request_id)) == {str(elsewhere.uuid)}
        assert listed(previous_snapshot=str(first.uuid)) == {str(second.uuid)}
        assert listed(name="v1") == {str(first.uuid)}
        assert listed(shared_by=other.username) == {str(second.uuid)}
        assert listed(request__parent_folder=str(folder.uuid)) == {str(first.uuid), str(second.uuid)}

    def test_a_malformed_uuid_filter_is_a_400(self, researcher_client):
        assert researcher_client.get(SNAPSHOTS, {"request_id": "nope"}).status_code == 400

    def test_the_number_of_queries_does_not_grow_with_the_rows(
        self, researcher_client, researcher, make_request, make_snapshot, queries_of
    ):
        request = make_request(researcher)

        def fill(count: int) -> None:
            for _ in range(count):
                snapshot = make_snapshot(researcher, request=request)
                measure = DatedMeasure.objects.create(owner=researcher, request_query_snapshot=snapshot, measure=3)
                parent = CohortResult.objects.create(
                    owner=researcher, request_query_snapshot=snapshot, dated_measure=measure
                )
                CohortResult.objects.create(
                    owner=researcher, request_query_snapshot=snapshot, dated_measure=measure, parent_cohort=parent
                )

        fill(1)
        few = queries_of(researcher_client, SNAPSHOTS, request_id=str(request.uuid), limit=-1)
        fill(10)
        assert queries_of(researcher_client, SNAPSHOTS, request_id=str(request.uuid), limit=-1) == few

    def test_a_page_costs_at_most_five_queries(
        self, researcher_client, researcher, make_snapshot, django_assert_max_num_queries
    ):
        first = make_snapshot(researcher)
        measure = DatedMeasure.objects.create(owner=researcher, request_query_snapshot=first, measure=3)
        CohortResult.objects.create(owner=researcher, request_query_snapshot=first, dated_measure=measure)
        make_snapshot(researcher, previous=first)
        # authentication + count, page, counts, cohorts (with their request), their samples
        with django_assert_max_num_queries(2 + 5):
            response = researcher_client.get(SNAPSHOTS, {"request_id": str(first.request_id)})
        assert response.json()["count"] == 2


class TestRepresentation:
    def test_counts_and_cohorts_of_a_version(self, researcher_client, researcher, make_snapshot):
        snapshot = make_snapshot(researcher)

        def count(day: int, **fields) -> DatedMeasure:
            return DatedMeasure.objects.create(
                owner=researcher, request_query_snapshot=snapshot, created_at=at(day), **fields
            )

        def cohort(measure, **fields) -> CohortResult:
            return CohortResult.objects.create(
                owner=researcher, request_query_snapshot=snapshot, dated_measure=measure, **fields
            )

        oldest = count(1, measure=10)
        twice_used = count(2, measure=20)
        parent = cohort(twice_used, name="Parent", group_id="111")
        cohort(twice_used, name="Second")
        only_sampled = count(3, measure=30)
        sample = cohort(only_sampled, name="Sample", parent_cohort=parent, sampling_ratio=0.1)
        estimate = count(4, measure=40, mode="Global")
        count(5, measure=50).delete()

        body = researcher_client.get(detail(snapshot)).json()

        # newest first, each once; those only used by samples are left out; global estimates are kept
        assert [m["uuid"] for m in body["dated_measures"]] == [
            str(estimate.uuid),
            str(twice_used.uuid),
            str(oldest.uuid),
        ]
        assert {c["name"] for c in body["cohort_results"]} == {"Parent", "Second", "Sample"}
        shown = {c["name"]: c for c in body["cohort_results"]}
        assert set(shown["Parent"]) == COHORT_KEYS
        assert shown["Parent"]["sample_cohorts"] == [
            {"uuid": str(sample.uuid), "name": "Sample", "sampling_ratio": 0.1}
        ]
        assert shown["Sample"]["parent_cohort"] == {"uuid": str(parent.uuid), "name": "Parent"}
        assert shown["Parent"]["parent_cohort"] is None
        assert shown["Parent"]["request"] == {
            "uuid": str(snapshot.request_id),
            "name": "Request 1",
            "description": "",
        }
        assert (shown["Parent"]["owner"], shown["Parent"]["request_query_snapshot"], shown["Parent"]["group_id"]) == (
            researcher.username,
            str(snapshot.uuid),
            "111",
        )

    def test_shape_of_a_count(self, researcher_client, researcher, make_snapshot, settings):
        settings.LAST_COUNT_VALIDITY = 24
        settings.COHORT_SIZE_LIMIT = 20_000
        snapshot = make_snapshot(researcher)
        fresh = DatedMeasure.objects.create(
            owner=researcher,
            request_query_snapshot=snapshot,
            measure=1234,
            extra={"criteria_count_1": "5000"},
            request_job_status="finished",
            request_job_duration="0:00:41.123456",
        )
        DatedMeasure.objects.create(
            owner=researcher, request_query_snapshot=snapshot, created_at=timezone.now() - timedelta(hours=25)
        )

        newest, old = researcher_client.get(detail(snapshot)).json()["dated_measures"]

        assert set(newest) == MEASURE_KEYS
        assert newest == newest | {
            "uuid": str(fresh.uuid),
            "owner": researcher.username,
            "request_query_snapshot": str(snapshot.uuid),
            "count_outdated": False,
            "cohort_limit": 20_000,
            "deleted": None,
            "deleted_by_cascade": False,
            "request_job_status": "finished",
            "request_job_duration": "0:00:41.123456",
            "measure": 1234,
            "extra": {"criteria_count_1": "5000"},
            "mode": "Snapshot",
        }
        assert old["count_outdated"] is True

    def test_a_foreign_snapshot_is_a_404(self, researcher_client, other, make_snapshot):
        snapshot = make_snapshot(other)
        assert researcher_client.get(detail(snapshot)).status_code == 404
        assert researcher_client.get(f"{SNAPSHOTS}not-a-uuid/").status_code == 404

    def test_a_deleted_snapshot_is_a_404(self, researcher_client, researcher, make_snapshot):
        snapshot = make_snapshot(researcher)
        snapshot.delete()
        assert researcher_client.get(detail(snapshot)).status_code == 404


class TestUpdate:
    def test_only_the_name_changes(self, researcher_client, researcher, make_snapshot, make_request, snapshot_query):
        first = make_snapshot(researcher)
        snapshot = make_snapshot(researcher, previous=first)
        before = RequestQuerySnapshot.objects.values().get(pk=snapshot.pk)
        body = {
            "name": "Version finale",
            "serialized_query": snapshot_query(["999"]),
            "perimeters_ids": ["999"],
            "version": 7,
            "request": str(make_request(researcher).uuid),
            "previous_snapshot": None,
            "owner": "someone",
        }

        response = researcher_client.patch(detail(snapshot), body, format="json")

        assert response.status_code == 200, response.content
        assert response.json()["name"] == "Version finale"
        after = RequestQuerySnapshot.objects.values().get(pk=snapshot.pk)
        assert after == before | {"name": "Version finale", "modified_at": after["modified_at"]}
        assert not RequestQuerySnapshotPatch.objects.exists()

    def test_a_foreign_snapshot_is_a_404_and_unchanged(self, researcher_client, other, make_snapshot):
        snapshot = make_snapshot(other)
        assert researcher_client.patch(detail(snapshot), {"name": "Mine"}, format="json").status_code == 404
        snapshot.refresh_from_db()
        assert snapshot.name is None

    def test_a_too_long_name_is_refused(self, researcher_client, researcher, make_snapshot):
        snapshot = make_snapshot(researcher)
        assert researcher_client.patch(detail(snapshot), {"name": "x" * 256}, format="json").status_code == 400

    @pytest.mark.parametrize("method", ["put", "delete"])
    def test_put_and_delete_are_not_allowed(self, researcher_client, researcher, make_snapshot, method):
        snapshot = make_snapshot(researcher)
        response = getattr(researcher_client, method)(detail(snapshot), {"name": "x"}, format="json")
        assert response.status_code == 405
        assert RequestQuerySnapshot.objects.get().name is None
