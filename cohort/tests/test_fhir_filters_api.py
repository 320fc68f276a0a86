"""Saved FHIR filters API (spec 02 §4.8, §3.8, §21.1; client contract FF-1..FF-5)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlsplit

import pytest

from cohort.models import FhirFilter, FhirFilterPatch
from tests.races import while_a_write_is_uncommitted

pytestmark = pytest.mark.django_db

FILTERS = "/cohort/fhir-filters/"
DELETE_MULTIPLE = f"{FILTERS}delete_multiple/"
FILTER_KEYS = {
    "uuid",
    "owner",
    "deleted",
    "deleted_by_cascade",
    "created_at",
    "modified_at",
    "fhir_resource",
    "fhir_version",
    "query_version",
    "name",
    "filter",
    "identifying",
    "auto_generated",
}
NEW_FILTER = {
    "fhir_resource": "Patient",
    "fhir_version": "4.0",
    "name": "Femmes > 50 ans",
    "filter": "gender=female&age-min=50",
    "identifying": False,
}


def detail(fhir_filter) -> str:
    return f"{FILTERS}{fhir_filter.uuid}/"


@pytest.fixture
def make_filter(db):
    def make(owner, **fields) -> FhirFilter:
        values = {**NEW_FILTER, "name": f"Filter {uuid.uuid4().hex[:8]}", **fields}
        return FhirFilter.objects.create(owner=owner, **values)

    return make


def names(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["name"] for row in response.json()["results"]]


class TestAuthentication:
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("get", FILTERS),
            ("post", FILTERS),
            ("get", "detail"),
            ("patch", "detail"),
            ("delete", "detail"),
            ("delete", DELETE_MULTIPLE),
        ],
    )
    def test_anonymous_callers_are_refused(self, anonymous, researcher, make_filter, method, path):
        fhir_filter = make_filter(researcher, name="Kept")
        body = {**NEW_FILTER, "uuids": [str(fhir_filter.uuid)]}
        response = getattr(anonymous, method)(detail(fhir_filter) if path == "detail" else path, body, format="json")
        assert response.status_code == 403
        assert list(FhirFilter.objects.values_list("name", flat=True)) == ["Kept"]


class TestList:
    def test_lists_the_callers_own_filters(self, researcher_client, researcher, other, make_filter):
        mine = make_filter(researcher, name="Mine")
        make_filter(researcher, name="For an export", auto_generated=True)
        make_filter(researcher, name="Deleted").delete()
        make_filter(other, name="Theirs")

        body = researcher_client.get(FILTERS).json()

        assert body["count"] == 1
        (row,) = body["results"]
        assert set(row) == FILTER_KEYS
        assert row == row | {
            "uuid": str(mine.uuid),
            "owner": "Alice MARTIN (4000001)",  # the owner's display string (FF-1)
            "deleted": None,
            "deleted_by_cascade": False,
            "fhir_resource": "Patient",
            "fhir_version": "4.0",
            "query_version": "v1.4.4",
            "name": "Mine",
            "filter": "gender=female&age-min=50",
            "identifying": False,
            "auto_generated": False,
        }

    def test_filters(self, researcher_client, researcher, make_filter):
        make_filter(researcher, name="Women", fhir_resource="Patient", filter="gender=female")
        make_filter(researcher, name="Diagnoses", fhir_resource="Condition", query_version="v1.6.1", filter="code=E11")
        make_filter(researcher, name="Ids", fhir_resource="PatientIdentifier", identifying=True, filter="gender=male")

        def listed(**params) -> list[str]:
            return sorted(names(researcher_client.get(FILTERS, params)))

        assert listed(fhir_resource="patient") == ["Ids", "Women"]  # case-insensitive containment
        assert listed(name="WOM") == ["Women"]
        assert listed(fhir_filter="FEMALE") == ["Women"]
        assert listed(query_version="v1.6.1") == ["Diagnoses"]
        assert listed(identifying="true") == ["Ids"]
        assert listed(identifying="false") == ["Diagnoses", "Women"]
        assert listed(owner=researcher.username) == ["Diagnoses", "Ids", "Women"]
        assert listed(owner="4000002") == []

    def test_a_malformed_boolean_is_a_400(self, researcher_client):
        assert researcher_client.get(FILTERS, {"identifying": "maybe"}).status_code == 400

    @pytest.mark.parametrize(
        ("ordering", "expected"),
        [
            ("-created_at", ["c", "b", "a"]),
            ("created_at", ["a", "b", "c"]),
            ("modified_at", ["b", "c", "a"]),
            ("-modified_at", ["a", "c", "b"]),
        ],
    )
    def test_ordering(self, researcher_client, researcher, make_filter, ordering, expected):
        rows = {
            name: make_filter(researcher, name=name, created_at=datetime(2026, 1, day, tzinfo=UTC))
            for day, name in ((1, "a"), (2, "b"), (3, "c"))
        }
        for name in ("b", "c", "a"):
            rows[name].save()
        assert names(researcher_client.get(FILTERS, {"ordering": ordering})) == expected

    def test_load_more_reads_limit_and_offset_from_the_next_link(self, researcher_client, researcher, make_filter):
        for index in range(3):
            make_filter(researcher, name=f"f{index}")
        params = {"fhir_resource": "Patient", "ordering": "-created_at", "limit": 2, "offset": 0}
        next_link = researcher_client.get(FILTERS, params).json()["next"]
        query = parse_qsl(urlsplit(next_link).query)
        assert [key for key, _ in query] == ["fhir_resource", "limit", "offset", "ordering"]
        assert dict(query) == {"fhir_resource": "Patient", "limit": "2", "offset": "2", "ordering": "-created_at"}
        assert len(researcher_client.get(FILTERS, dict(query)).json()["results"]) == 1

    def test_the_number_of_queries_does_not_grow_with_the_rows(
        self, researcher_client, researcher, make_filter, queries_of
    ):
        make_filter(researcher)
        few = queries_of(researcher_client, FILTERS, limit=-1)
        for _ in range(10):
            make_filter(researcher)
        assert queries_of(researcher_client, FILTERS, limit=-1) == few


class TestCreate:
    def test_creates_a_filter_of_the_caller(self, researcher_client, researcher, other):
        body = {**NEW_FILTER, "filter": "=&gender=female&", "owner": other.username, "auto_generated": True}

        response = researcher_client.post(FILTERS, body, format="json")

        assert response.status_code == 201, response.content
        created = response.json()
        assert set(created) == FILTER_KEYS
        assert (created["owner"], created["filter"], created["auto_generated"]) == (
            "Alice MARTIN (4000001)",
            "gender=female",
            False,
        )
        fhir_filter = FhirFilter.objects.get()
        assert (fhir_filter.owner, fhir_filter.auto_generated, fhir_filter.filter) == (
            researcher,
            False,
            "gender=female",
        )

    def test_a_name_taken_for_the_resource_is_a_400(self, researcher_client, researcher, make_filter):
        make_filter(researcher, name=NEW_FILTER["name"])
        response = researcher_client.post(FILTERS, NEW_FILTER, format="json")
        assert response.status_code == 400
        assert set(response.json()) == {"error"}
        assert isinstance(response.json()["error"], str)
        assert FhirFilter.objects.count() == 1

    def test_a_name_is_free_on_another_resource_for_another_owner_or_once_deleted(
        self, researcher_client, researcher, other, make_filter
    ):
        make_filter(researcher, name=NEW_FILTER["name"], fhir_resource="Condition")
        make_filter(other, name=NEW_FILTER["name"])
        make_filter(researcher, name=NEW_FILTER["name"]).delete()
        assert researcher_client.post(FILTERS, NEW_FILTER, format="json").status_code == 201

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"name": "x"}, "name"),
            ({"name": "x" * 51}, "name"),
            ({"name": None}, "name"),
            ({"fhir_version": None}, "fhir_version"),
            ({"fhir_resource": "x" * 256}, "fhir_resource"),
            ({"identifying": "maybe"}, "identifying"),
        ],
    )
    def test_invalid_bodies_are_refused(self, researcher_client, change, field):
        response = researcher_client.post(FILTERS, {**NEW_FILTER, **change}, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not FhirFilter.all_objects.exists()

    def test_missing_fields_are_refused(self, researcher_client):
        response = researcher_client.post(FILTERS, {"name": "Only a name"}, format="json")
        assert response.status_code == 400
        assert {"fhir_resource", "fhir_version", "filter"} <= set(response.json())


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_save_of_the_same_name_is_a_400(researcher, make_client):
    """The name check cannot see a duplicate not yet committed: the unique index decides, still as a 400."""
    client = make_client(researcher)
    response = while_a_write_is_uncommitted(
        lambda: FhirFilter.objects.create(owner=researcher, **NEW_FILTER),
        lambda: client.post(FILTERS, NEW_FILTER, format="json"),
    )

    assert response.status_code == 400
    assert set(response.json()) == {"error"}
    assert FhirFilter.objects.count() == 1


class TestUpdate:
    def test_edits_a_filter_and_keeps_its_history(self, researcher_client, researcher, make_filter):
        fhir_filter = make_filter(researcher, filter="gender=female")
        body = {"fhir_resource": "Patient", "fhir_version": "4.0", "name": "Renamed", "filter": "gender=male&"}

        response = researcher_client.patch(detail(fhir_filter), body, format="json")

        assert response.status_code == 200, response.content
        assert (response.json()["name"], response.json()["filter"]) == ("Renamed", "gender=male")
        fhir_filter.refresh_from_db()
        assert (fhir_filter.name, fhir_filter.filter) == ("Renamed", "gender=male")
        assert list(FhirFilterPatch.objects.values_list("patch_version", "filter")) == [(1, "gender=female")]

    def test_keeping_its_own_name_is_fine(self, researcher_client, researcher, make_filter):
        fhir_filter = make_filter(researcher, name="Same")
        response = researcher_client.patch(detail(fhir_filter), {"name": "Same", "identifying": True}, format="json")
        assert response.status_code == 200

    def test_taking_a_used_name_is_a_400(self, researcher_client, researcher, make_filter):
        make_filter(researcher, name="Taken")
        fhir_filter = make_filter(researcher, name="Mine")
        response = researcher_client.patch(detail(fhir_filter), {"name": "Taken"}, format="json")
        assert response.status_code == 400
        assert set(response.json()) == {"error"}
        fhir_filter.refresh_from_db()
        assert fhir_filter.name == "Mine"

    def test_moving_onto_a_used_name_by_changing_the_resource_is_a_400(
        self, researcher_client, researcher, make_filter
    ):
        make_filter(researcher, name="Same", fhir_resource="Condition")
        fhir_filter = make_filter(researcher, name="Same", fhir_resource="Patient")
        response = researcher_client.patch(detail(fhir_filter), {"fhir_resource": "Condition"}, format="json")
        assert response.status_code == 400
        fhir_filter.refresh_from_db()
        assert fhir_filter.fhir_resource == "Patient"

    def test_auto_generated_and_owner_are_not_writable(self, researcher_client, researcher, other, make_filter):
        fhir_filter = make_filter(researcher)
        body = {"auto_generated": True, "owner": other.username}
        assert researcher_client.patch(detail(fhir_filter), body, format="json").status_code == 200
        fhir_filter.refresh_from_db()
        assert (fhir_filter.auto_generated, fhir_filter.owner) == (False, researcher)

    def test_a_foreign_filter_is_a_404_and_unchanged(self, researcher_client, other, make_filter):
        fhir_filter = make_filter(other, name="Theirs")
        assert researcher_client.patch(detail(fhir_filter), {"name": "Mine"}, format="json").status_code == 404
        fhir_filter.refresh_from_db()
        assert fhir_filter.name == "Theirs"

    def test_put_is_not_allowed(self, researcher_client, researcher, make_filter):
        fhir_filter = make_filter(researcher, name="Kept")
        assert researcher_client.put(detail(fhir_filter), {**NEW_FILTER}, format="json").status_code == 405
        fhir_filter.refresh_from_db()
        assert fhir_filter.name == "Kept"


class TestDelete:
    def test_deletes_one_filter(self, researcher_client, researcher, make_filter):
        fhir_filter = make_filter(researcher)
        assert researcher_client.delete(detail(fhir_filter)).status_code == 204
        assert FhirFilter.all_objects.get().deleted is not None

    def test_a_foreign_filter_is_a_404_and_kept(self, researcher_client, other, make_filter):
        fhir_filter = make_filter(other)
        assert researcher_client.delete(detail(fhir_filter)).status_code == 404
        assert FhirFilter.objects.filter(pk=fhir_filter.pk).exists()


class TestDeleteMultiple:
    def test_deletes_only_the_callers_listed_filters(self, researcher_client, researcher, other, make_filter):
        first, second, kept = make_filter(researcher), make_filter(researcher), make_filter(researcher)
        generated = make_filter(researcher, auto_generated=True)
        theirs = make_filter(other)
        body = {"uuids": [str(first.uuid), str(second.uuid), str(theirs.uuid), str(generated.uuid), str(uuid.uuid4())]}

        response = researcher_client.delete(DELETE_MULTIPLE, body, format="json")

        assert response.status_code == 204
        assert set(FhirFilter.objects.all()) == {kept, theirs, generated}
        assert FhirFilter.all_objects.get(pk=first.pk).deleted is not None

    @pytest.mark.parametrize("body", [{}, {"uuids": "a,b"}, {"uuids": ["not-a-uuid"]}, ["x"]])
    def test_malformed_bodies_delete_nothing(self, researcher_client, researcher, make_filter, body):
        fhir_filter = make_filter(researcher)
        if isinstance(body, dict) and isinstance(body.get("uuids"), list):
            body = {"uuids": [str(fhir_filter.uuid), *body["uuids"]]}
        assert researcher_client.delete(DELETE_MULTIPLE, body, format="json").status_code == 400
        assert FhirFilter.objects.filter(pk=fhir_filter.pk).exists()

    def test_an_empty_list_is_fine(self, researcher_client, researcher, make_filter):
        make_filter(researcher)
        assert researcher_client.delete(DELETE_MULTIPLE, {"uuids": []}, format="json").status_code == 204
        assert FhirFilter.objects.count() == 1
