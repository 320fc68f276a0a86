"""The lists the Portail administers Jupyter transfers with (spec 02 §15.4-§15.7, §21.5; client contract FF-6,
EXP-8, DL-1..3): exportable cohorts and FHIR filters, datalabs, infrastructure providers and export statistics.

For each route: anonymous callers, callers without the right, callers with it (status and exact shape), bad input
(a clear 4xx that changes nothing), and a number of queries that does not grow with the page."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from cohort.models import CohortResult, FhirFilter, JobStatus
from cohort.services.soft_delete import soft_delete
from cohort.tests.test_fhir_filters_api import FILTER_KEYS  # the same representation (spec 02 §15.4)
from exports.models import Datalab, ExportResultStat, InfrastructureProvider
from tests.factories import RoleFactory, UserFactory, grant
from tests.races import while_a_write_is_uncommitted

pytestmark = pytest.mark.django_db

COHORTS = "/exports/cohorts/"
FILTERS = "/exports/fhir-filters/"
DATALABS = "/exports/datalabs/"
PROVIDERS = "/exports/infrastructure-providers/"
STATS = "/exports/export-stats/"
UNKNOWN_UUID = "6f1e2d3c-0000-4000-8000-000000000000"
LIMIT_OFFSET_KEYS = {"count", "next", "previous", "results"}
ALLOWED_CHARACTERS = "Only letters (a-z, A-Z), digits, '_', '.' and '-' are allowed"


def at(url: str, row) -> str:
    return f"{url}{row.pk}/"


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == LIMIT_OFFSET_KEYS
    assert body["count"] == len(body["results"])
    return body["results"]


def uuids(response) -> list[str]:
    return [row["uuid"] for row in results(response)]


def same_instant(text: str, moment: datetime) -> bool:
    return datetime.fromisoformat(text) == moment


# ------------------------------------------------------------------------------------------------- fixtures


@pytest.fixture
def datalab_manager(hospital):
    """Reads and manages datalabs, and nothing else."""
    user = UserFactory(username="4000010", firstname="Marc", lastname="LAB", email="marc@example.org")
    grant(user, RoleFactory(right_read_datalabs=True, right_manage_datalabs=True), hospital[0])
    return user


@pytest.fixture
def manager_client(make_client, datalab_manager):
    return make_client(datalab_manager)


@pytest.fixture
def reader_client(make_client, datalab_reader):
    return make_client(datalab_reader)


@pytest.fixture
def manage_only(hospital):
    """Holds `right_manage_datalabs` without `right_read_datalabs`: an export administrator who may not write."""
    user = UserFactory(username="4000011", firstname="Noé", lastname="LAB", email="noe@example.org")
    grant(user, RoleFactory(right_manage_datalabs=True), hospital[0])
    return user


@pytest.fixture
def make_filter(db):
    def make(owner, **fields) -> FhirFilter:
        values = {
            "fhir_resource": "Condition",
            "fhir_version": "4.0",
            "name": f"Filter {uuid.uuid4().hex[:8]}",
            "filter": "code=E11",
            "identifying": False,
            **fields,
        }
        return FhirFilter.objects.create(owner=owner, **values)

    return make


@pytest.fixture
def provider(db) -> InfrastructureProvider:
    return InfrastructureProvider.objects.create(name="Hadoop AP-HP")


@pytest.fixture
def make_stat(db):
    def make(export, **fields) -> ExportResultStat:
        values = {"name": "patients", "type": "Integer", "value": "1523", **fields}
        return ExportResultStat.objects.create(export=export, **values)

    return make


def rows(model) -> list[tuple]:
    """Every row of `model`, alive or soft-deleted, as comparable tuples (to check that a refusal changed nothing)."""
    fields = [field.attname for field in model._meta.concrete_fields]
    return sorted(model.all_objects.values_list(*fields), key=str)


def assert_refused_unchanged(client, method: str, url: str, body: dict, model, status: int = 403) -> None:
    """The call is refused with `status` and leaves every row of `model` as it was."""
    before = rows(model)
    response = getattr(client, method)(url, body, format="json")
    assert response.status_code == status, response.content
    assert rows(model) == before


def assert_bounded_queries(client, url, params, add_rows, django_assert_max_num_queries) -> None:
    """The list costs as many queries with 15 rows (from `add_rows(10)`) as with 5."""
    assert client.get(url, params).status_code == 200  # warm-up: per-process caches (rights, content types)
    with CaptureQueriesContext(connection) as five:
        count = client.get(url, params).json()["count"]
    add_rows(10)
    with django_assert_max_num_queries(len(five.captured_queries)):
        response = client.get(url, params)
    assert response.json()["count"] == count + 10


# ------------------------------------------------------------------------------- exportable cohorts (§15.4)


def cohort_row(cohort: CohortResult) -> dict:
    return {"uuid": str(cohort.pk), "owner": cohort.owner_id, "name": cohort.name}


class TestExportableCohorts:
    @pytest.mark.parametrize("method", ["get", "post", "patch", "put", "delete"])
    @pytest.mark.parametrize("detail", [False, True])
    def test_anonymous_callers_are_refused(self, anonymous, researcher, make_cohort, method, detail):
        cohort = make_cohort(researcher)
        url = at(COHORTS, cohort) if detail else COHORTS
        assert_refused_unchanged(anonymous, method, url, {"name": "changed"}, CohortResult)

    def test_researchers_list_their_finished_cohorts_only(self, researcher_client, researcher, other, make_cohort):
        mine = make_cohort(researcher, name="Diabète 2025")
        make_cohort(researcher, status=JobStatus.STARTED, name="Running")
        make_cohort(researcher, status=JobStatus.FAILED, name="Failed")
        make_cohort(researcher, is_subset=True, name="Export subset")
        make_cohort(researcher, name="Deleted").delete()
        make_cohort(other, name="Bob's")

        response = researcher_client.get(COHORTS, {"owner_id": researcher.username, "limit": 1000})

        assert response.status_code == 200
        assert response.json() == {
            "count": 1,
            "next": None,
            "previous": None,
            "results": [{"uuid": str(mine.pk), "owner": "4000001", "name": "Diabète 2025"}],
        }
        assert uuids(researcher_client.get(COHORTS)) == [str(mine.pk)]

    def test_asking_for_another_users_cohorts_gives_none_of_them(
        self, researcher_client, researcher, other, make_cohort
    ):
        make_cohort(researcher)
        make_cohort(other)
        # Deliberately not the reference's behaviour (spec 02 §21.5): other users' cohorts stay hidden.
        assert results(researcher_client.get(COHORTS, {"owner_id": other.username, "limit": 1000})) == []

    @pytest.mark.parametrize("admin", ["full_admin", "datalab_reader", "datalab_manager", "manage_only"])
    def test_export_administrators_list_every_users_cohorts(
        self, request, make_client, researcher, other, make_cohort, admin
    ):
        mine, theirs = make_cohort(researcher), make_cohort(other)
        make_cohort(other, is_subset=True)
        client = make_client(request.getfixturevalue(admin))

        assert sorted(uuids(client.get(COHORTS, {"limit": 1000}))) == sorted([str(mine.pk), str(theirs.pk)])
        # EXP-8: the Portail picks the cohorts of the user the transfer is for.
        assert results(client.get(COHORTS, {"owner_id": other.username, "limit": 1000})) == [cohort_row(theirs)]

    def test_search_and_ordering(self, researcher_client, researcher, make_cohort):
        beta, alpha = make_cohort(researcher, name="Beta"), make_cohort(researcher, name="Alpha")
        assert uuids(researcher_client.get(COHORTS)) == [str(alpha.pk), str(beta.pk)]  # newest first
        assert uuids(researcher_client.get(COHORTS, {"ordering": "name"})) == [str(alpha.pk), str(beta.pk)]
        assert uuids(researcher_client.get(COHORTS, {"ordering": "-name"})) == [str(beta.pk), str(alpha.pk)]
        assert uuids(researcher_client.get(COHORTS, {"search": "bet"})) == [str(beta.pk)]

    def test_the_owner_reads_a_detail(self, researcher_client, researcher, make_cohort):
        cohort = make_cohort(researcher, name="Diabète 2025")
        response = researcher_client.get(at(COHORTS, cohort))
        assert response.status_code == 200
        assert response.json() == {"uuid": str(cohort.pk), "owner": "4000001", "name": "Diabète 2025"}

    @pytest.mark.parametrize("caller", ["other", "full_admin", "datalab_reader"])
    def test_details_are_their_owners_only(self, request, make_client, researcher, make_cohort, caller):
        cohort = make_cohort(researcher)
        assert make_client(request.getfixturevalue(caller)).get(at(COHORTS, cohort)).status_code == 404

    def test_unexportable_unknown_and_malformed_details_are_404(self, researcher_client, researcher, make_cohort):
        running = make_cohort(researcher, status=JobStatus.STARTED)
        subset = make_cohort(researcher, is_subset=True)
        for url in (at(COHORTS, running), at(COHORTS, subset), f"{COHORTS}{UNKNOWN_UUID}/", f"{COHORTS}nope/"):
            assert researcher_client.get(url).status_code == 404, url

    @pytest.mark.parametrize(("method", "detail"), [("post", False), ("patch", True), ("put", True), ("delete", True)])
    def test_cohorts_cannot_be_changed_here(self, researcher_client, researcher, make_cohort, method, detail):
        cohort = make_cohort(researcher)
        before = rows(CohortResult)
        url = at(COHORTS, cohort) if detail else COHORTS
        response = getattr(researcher_client, method)(url, {"name": "changed"}, format="json")
        assert response.status_code == 405
        assert rows(CohortResult) == before

    def test_the_list_costs_the_same_whatever_its_length(
        self, admin_client, hospital, make_cohort, django_assert_max_num_queries
    ):
        def add_cohorts(count: int) -> None:
            for _ in range(count):
                make_cohort(UserFactory())

        add_cohorts(5)
        assert_bounded_queries(admin_client, COHORTS, {"limit": 1000}, add_cohorts, django_assert_max_num_queries)


# -------------------------------------------------------------------------- exportable FHIR filters (§15.4)


def filter_row(fhir_filter: FhirFilter, owner_display: str) -> dict:
    return {
        "uuid": str(fhir_filter.pk),
        "owner": owner_display,
        "deleted": None,
        "deleted_by_cascade": False,
        "created_at": fhir_filter.created_at,
        "modified_at": fhir_filter.modified_at,
        "fhir_resource": fhir_filter.fhir_resource,
        "fhir_version": fhir_filter.fhir_version,
        "query_version": fhir_filter.query_version,
        "name": fhir_filter.name,
        "filter": fhir_filter.filter,
        "identifying": fhir_filter.identifying,
        "auto_generated": False,
    }


def with_instants(row: dict) -> dict:
    return {
        **row,
        "created_at": datetime.fromisoformat(row["created_at"]),
        "modified_at": datetime.fromisoformat(row["modified_at"]),
    }


class TestExportableFhirFilters:
    @pytest.mark.parametrize("method", ["get", "post", "patch", "put", "delete"])
    @pytest.mark.parametrize("detail", [False, True])
    def test_anonymous_callers_are_refused(self, anonymous, researcher, make_filter, method, detail):
        fhir_filter = make_filter(researcher)
        url = at(FILTERS, fhir_filter) if detail else FILTERS
        assert_refused_unchanged(anonymous, method, url, {"name": "changed"}, FhirFilter)

    def test_researchers_list_their_saved_filters_only(self, researcher_client, researcher, other, make_filter):
        mine = make_filter(researcher, name="Diabète")
        make_filter(researcher, auto_generated=True, name="Made for an export")
        make_filter(researcher, name="Deleted").delete()
        make_filter(other, name="Bob's")

        listed = results(researcher_client.get(FILTERS, {"limit": 1000}))

        assert [with_instants(row) for row in listed] == [filter_row(mine, "Alice MARTIN (4000001)")]
        assert set(listed[0]) == FILTER_KEYS

    def test_asking_for_another_users_filters_gives_none_of_them(
        self, researcher_client, researcher, other, make_filter
    ):
        make_filter(researcher)
        make_filter(other)
        assert results(researcher_client.get(FILTERS, {"owner_id": other.username, "limit": 1000})) == []
        assert results(researcher_client.get(FILTERS, {"owner": other.username, "limit": 1000})) == []

    @pytest.mark.parametrize("admin", ["full_admin", "datalab_reader", "datalab_manager"])
    def test_export_administrators_pick_a_users_filters_as_the_portail_asks(
        self, request, make_client, researcher, other, make_filter, admin
    ):
        older = make_filter(other, name="Older")
        newer = make_filter(other, name="Newer")
        make_filter(other, name="Identifying", identifying=True)
        make_filter(other, name="On patients", fhir_resource="Patient")
        make_filter(other, name="Generated", auto_generated=True)
        make_filter(researcher, name="Alice's")
        client = make_client(request.getfixturevalue(admin))

        # FF-6, as the Portail sends it in pseudonymised mode.
        query = {
            "owner_id": other.username,
            "fhir_resource": "Condition",
            "identifying": "false",
            "ordering": "-created_at",
            "limit": 1000,
        }
        listed = results(client.get(FILTERS, query))

        display = "Bob DURAND (4000002)"
        assert [with_instants(row) for row in listed] == [filter_row(newer, display), filter_row(older, display)]
        assert len(uuids(client.get(FILTERS, {"limit": 1000}))) == 5

    def test_ordering_and_search(self, researcher_client, researcher, make_filter):
        beta, alpha = make_filter(researcher, name="Beta"), make_filter(researcher, name="Alpha", filter="code=I10")
        assert uuids(researcher_client.get(FILTERS)) == [str(alpha.pk), str(beta.pk)]
        assert uuids(researcher_client.get(FILTERS, {"ordering": "name"})) == [str(alpha.pk), str(beta.pk)]
        assert uuids(researcher_client.get(FILTERS, {"ordering": "-name"})) == [str(beta.pk), str(alpha.pk)]
        assert uuids(researcher_client.get(FILTERS, {"search": "I10"})) == [str(alpha.pk)]
        assert uuids(researcher_client.get(FILTERS, {"identifying": "true"})) == []

    def test_a_non_boolean_identifying_is_a_400(self, researcher_client, researcher, make_filter):
        make_filter(researcher)
        response = researcher_client.get(FILTERS, {"identifying": "maybe"})
        assert response.status_code == 400
        assert "identifying" in response.json()

    def test_the_owner_reads_a_detail(self, researcher_client, researcher, make_filter):
        fhir_filter = make_filter(researcher)
        response = researcher_client.get(at(FILTERS, fhir_filter))
        assert response.status_code == 200
        assert with_instants(response.json()) == filter_row(fhir_filter, "Alice MARTIN (4000001)")

    @pytest.mark.parametrize("caller", ["other", "full_admin", "datalab_reader"])
    def test_details_are_their_owners_only(self, request, make_client, researcher, make_filter, caller):
        fhir_filter = make_filter(researcher)
        assert make_client(request.getfixturevalue(caller)).get(at(FILTERS, fhir_filter)).status_code == 404

    def test_generated_unknown_and_malformed_details_are_404(self, researcher_client, researcher, make_filter):
        generated = make_filter(researcher, auto_generated=True)
        for url in (at(FILTERS, generated), f"{FILTERS}{UNKNOWN_UUID}/", f"{FILTERS}nope/"):
            assert researcher_client.get(url).status_code == 404, url

    @pytest.mark.parametrize(("method", "detail"), [("post", False), ("patch", True), ("put", True), ("delete", True)])
    def test_filters_cannot_be_changed_here(self, researcher_client, researcher, make_filter, method, detail):
        fhir_filter = make_filter(researcher)
        before = rows(FhirFilter)
        url = at(FILTERS, fhir_filter) if detail else FILTERS
        body = {"name": "changed", "fhir_resource": "Condition", "fhir_version": "4.0", "filter": "code=X"}
        response = getattr(researcher_client, method)(url, body, format="json")
        assert response.status_code == 405
        assert rows(FhirFilter) == before

    def test_the_list_costs_the_same_whatever_its_length(
        self, admin_client, hospital, make_filter, django_assert_max_num_queries
    ):
        def add_filters(count: int) -> None:
            for _ in range(count):
                make_filter(UserFactory())

        add_filters(5)
        assert_bounded_queries(admin_client, FILTERS, {"limit": 1000}, add_filters, django_assert_max_num_queries)


# -------------------------------------------------------------------------------------------- datalabs (§15.5)


def datalab_row(datalab: Datalab) -> dict:
    provider = datalab.infrastructure_provider
    return {
        "uuid": str(datalab.pk),
        "created_at": datalab.created_at,
        "name": datalab.name,
        "infrastructure_provider": {"uuid": str(provider.pk), "name": provider.name},
    }


def datalab_shape(row: dict) -> dict:
    return {**row, "created_at": datetime.fromisoformat(row["created_at"])}


def page(response) -> dict:
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"count", "next", "previous", "results"}
    return body


class TestDatalabsRights:
    @pytest.mark.parametrize(("method", "detail"), [("get", False), ("get", True), ("post", False), ("patch", True)])
    @pytest.mark.parametrize("caller", ["anonymous", "researcher", "manage_only"])
    def test_callers_without_the_read_right_are_refused(
        self, request, make_client, anonymous, datalab, provider, method, detail, caller
    ):
        client = anonymous if caller == "anonymous" else make_client(request.getfixturevalue(caller))
        before = rows(Datalab)
        url = at(DATALABS, datalab) if detail else DATALABS
        body = {"name": "lab-cardio", "infrastructure_provider": str(provider.pk)}
        response = getattr(client, method)(url, body, format="json")
        assert response.status_code == 403
        assert rows(Datalab) == before

    @pytest.mark.parametrize(("method", "detail"), [("post", False), ("patch", True)])
    def test_readers_cannot_write(self, reader_client, datalab, provider, method, detail):
        before = rows(Datalab)
        url = at(DATALABS, datalab) if detail else DATALABS
        body = {"name": "lab-cardio", "infrastructure_provider": str(provider.pk)}
        response = getattr(reader_client, method)(url, body, format="json")
        assert response.status_code == 403
        assert rows(Datalab) == before

    @pytest.mark.parametrize("client", ["reader_client", "manager_client", "admin_client"])
    def test_readers_read(self, request, datalab, client):
        client = request.getfixturevalue(client)
        assert [datalab_shape(row) for row in page(client.get(DATALABS))["results"]] == [datalab_row(datalab)]
        response = client.get(at(DATALABS, datalab))
        assert response.status_code == 200
        assert datalab_shape(response.json()) == datalab_row(datalab)

    @pytest.mark.parametrize("method", ["put", "delete"])
    def test_datalabs_cannot_be_replaced_nor_deleted(self, manager_client, datalab, provider, method):
        before = rows(Datalab)
        body = {"name": "lab-cardio", "infrastructure_provider": str(provider.pk)}
        response = getattr(manager_client, method)(at(DATALABS, datalab), body, format="json")
        assert response.status_code == 405
        assert rows(Datalab) == before

    def test_unknown_and_malformed_details_are_404(self, reader_client):
        assert reader_client.get(f"{DATALABS}{UNKNOWN_UUID}/").status_code == 404
        assert reader_client.get(f"{DATALABS}nope/").status_code == 404


class TestDatalabsList:
    def test_page_numbers_as_the_portail_asks(self, reader_client, provider):
        labs = [Datalab.objects.create(name=f"lab{i:02}", infrastructure_provider=provider) for i in range(21)]
        Datalab.objects.create(name="other", infrastructure_provider=provider)

        first = page(reader_client.get(DATALABS, {"page": 1, "ordering": "name", "search": "lab"}))

        assert first["count"] == 21
        assert first["previous"] is None
        assert "page=2" in first["next"]
        assert [datalab_shape(row) for row in first["results"]] == [datalab_row(lab) for lab in labs[:20]]
        second = page(reader_client.get(DATALABS, {"page": 2, "ordering": "name", "search": "lab"}))
        assert [row["name"] for row in second["results"]] == ["lab20"]
        assert second["next"] is None

    def test_a_page_past_the_end_is_a_404(self, reader_client, datalab):
        assert reader_client.get(DATALABS, {"page": 2}).status_code == 404

    def test_filters_search_and_ordering(self, reader_client, provider):
        other_provider = InfrastructureProvider.objects.create(name="Cloud Azure")
        cardio = Datalab.objects.create(name="lab-cardio", infrastructure_provider=provider)
        Datalab.objects.create(name="lab-cardio2", infrastructure_provider=other_provider)
        neuro = Datalab.objects.create(name="neuro", infrastructure_provider=other_provider)

        def names(**params) -> list[str]:
            return [row["name"] for row in page(reader_client.get(DATALABS, params))["results"]]

        assert names() == ["lab-cardio", "lab-cardio2", "neuro"]
        assert names(name="lab-cardio") == ["lab-cardio"]  # exact
        assert names(infra_provider="azu") == ["lab-cardio2", "neuro"]  # part of the provider's name
        assert names(search="AZURE") == ["lab-cardio2", "neuro"]
        assert names(search="cardio") == ["lab-cardio", "lab-cardio2"]
        assert names(ordering="-name") == ["neuro", "lab-cardio2", "lab-cardio"]
        Datalab.objects.filter(pk=cardio.pk).update(created_at=neuro.created_at.replace(year=2030))
        assert names(ordering="-created_at") == ["lab-cardio", "neuro", "lab-cardio2"]

    def test_deleted_datalabs_are_not_listed(self, reader_client, datalab):
        datalab.delete()
        assert page(reader_client.get(DATALABS))["results"] == []
        assert reader_client.get(at(DATALABS, datalab)).status_code == 404

    def test_the_list_costs_the_same_whatever_its_length(self, reader_client, django_assert_max_num_queries):
        def add_datalabs(count: int) -> None:
            for _ in range(count):
                provider = InfrastructureProvider.objects.create(name=f"Provider {uuid.uuid4().hex[:6]}")
                Datalab.objects.create(name=f"lab-{uuid.uuid4().hex[:8]}", infrastructure_provider=provider)

        add_datalabs(5)
        assert_bounded_queries(reader_client, DATALABS, {"page": 1}, add_datalabs, django_assert_max_num_queries)


class TestDatalabsWrites:
    @pytest.mark.parametrize("client", ["manager_client", "admin_client"])
    def test_managers_create_a_datalab_as_the_portail_sends_it(self, request, provider, client):
        response = request.getfixturevalue(client).post(
            DATALABS, {"name": "lab-cardio", "infrastructure_provider": str(provider.pk)}, format="json"
        )

        assert response.status_code == 201, response.content
        created = Datalab.objects.get()
        assert datalab_shape(response.json()) == datalab_row(created)
        assert (created.name, created.infrastructure_provider_id) == ("lab-cardio", provider.pk)

    @pytest.mark.parametrize("name", ["lab-cardio", "lab_01", "Lab.v2", "_private", "0lab", "a"])
    def test_unix_friendly_names_are_accepted(self, manager_client, provider, name):
        response = manager_client.post(
            DATALABS, {"name": name, "infrastructure_provider": str(provider.pk)}, format="json"
        )
        assert response.status_code == 201, response.content
        assert Datalab.objects.get().name == name

    @pytest.mark.parametrize("name", ["lab cardio", " lab", "lab ", "lab\tcardio", "lab\ncardio", "lab\u00a0cardio"])
    def test_names_with_blanks_are_refused_with_the_message_the_portail_shows(
        self, manager_client, datalab, provider, name
    ):
        before = rows(Datalab)
        response = manager_client.post(
            DATALABS, {"name": name, "infrastructure_provider": str(provider.pk)}, format="json"
        )
        assert response.status_code == 400
        assert response.json() == {"name": ["No spaces allowed"]}
        assert rows(Datalab) == before

    @pytest.mark.parametrize(
        "name",
        ["../etc", "lab/cardio", "lab;rm", "lab$USER", "lab*", "lab`id`", "cardiologie-é", "-rf", ".hidden", ".", ".."],
    )
    def test_names_that_are_not_a_safe_unix_account_nor_path_are_refused(self, manager_client, datalab, provider, name):
        before = rows(Datalab)
        response = manager_client.post(
            DATALABS, {"name": name, "infrastructure_provider": str(provider.pk)}, format="json"
        )
        assert response.status_code == 400
        [message] = response.json()["name"]
        assert message.startswith(ALLOWED_CHARACTERS)
        assert "'.' or '-'" in message
        assert rows(Datalab) == before

    def test_a_taken_name_is_refused(self, manager_client, datalab, provider):
        before = rows(Datalab)
        response = manager_client.post(
            DATALABS, {"name": datalab.name, "infrastructure_provider": str(provider.pk)}, format="json"
        )
        assert response.status_code == 400
        assert response.json() == {"name": ["A datalab with this name already exists"]}
        assert rows(Datalab) == before

    def test_the_name_of_a_deleted_datalab_can_be_taken_again(self, manager_client, datalab, provider):
        datalab.delete()
        response = manager_client.post(
            DATALABS, {"name": datalab.name, "infrastructure_provider": str(provider.pk)}, format="json"
        )
        assert response.status_code == 201, response.content
        assert Datalab.all_objects.filter(name=datalab.name).count() == 2

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "lab-cardio", "infrastructure_provider": UNKNOWN_UUID}, "infrastructure_provider"),
            ({"name": "lab-cardio", "infrastructure_provider": "not-a-uuid"}, "infrastructure_provider"),
            ({"name": "lab-cardio", "infrastructure_provider": 12}, "infrastructure_provider"),
            ({"name": "lab-cardio"}, "infrastructure_provider"),
            ({"infrastructure_provider": "{provider}"}, "name"),
            ({"name": "", "infrastructure_provider": "{provider}"}, "name"),
            ({"name": "x" * 256, "infrastructure_provider": "{provider}"}, "name"),
            ({"name": ["lab"], "infrastructure_provider": "{provider}"}, "name"),
        ],
    )
    def test_bad_bodies_are_refused(self, manager_client, datalab, provider, body, field):
        body = {
            key: value.format(provider=provider.pk) if isinstance(value, str) else value for key, value in body.items()
        }
        before = rows(Datalab)
        response = manager_client.post(DATALABS, body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert rows(Datalab) == before

    def test_a_deleted_provider_cannot_be_chosen(self, manager_client, provider):
        provider.delete()
        response = manager_client.post(
            DATALABS, {"name": "lab-cardio", "infrastructure_provider": str(provider.pk)}, format="json"
        )
        assert response.status_code == 400
        assert "infrastructure_provider" in response.json()
        assert not Datalab.all_objects.exists()

    def test_managers_rename_a_datalab_and_move_it_to_another_provider(self, manager_client, datalab):
        azure = InfrastructureProvider.objects.create(name="Cloud Azure")
        response = manager_client.patch(
            at(DATALABS, datalab), {"name": "lab-neuro", "infrastructure_provider": str(azure.pk)}, format="json"
        )
        assert response.status_code == 200, response.content
        datalab.refresh_from_db()
        assert (datalab.name, datalab.infrastructure_provider_id) == ("lab-neuro", azure.pk)
        assert datalab_shape(response.json()) == datalab_row(datalab)

    def test_keeping_its_own_name_is_fine(self, manager_client, datalab):
        response = manager_client.patch(at(DATALABS, datalab), {"name": datalab.name}, format="json")
        assert response.status_code == 200

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"name": "taken"}, "name"),
            ({"name": "lab cardio"}, "name"),
            ({"name": "../x"}, "name"),
            ({"infrastructure_provider": UNKNOWN_UUID}, "infrastructure_provider"),
            ({"infrastructure_provider": "not-a-uuid"}, "infrastructure_provider"),
        ],
    )
    def test_bad_changes_are_refused(self, manager_client, datalab, provider, body, field):
        Datalab.objects.create(name="taken", infrastructure_provider=provider)
        before = rows(Datalab)
        response = manager_client.patch(at(DATALABS, datalab), body, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert rows(Datalab) == before


@pytest.mark.django_db(transaction=True)
def test_a_concurrent_creation_of_the_same_name_is_a_400(datalab_manager, make_client):
    """The serializer's name check cannot see a duplicate not yet committed: the unique index decides, as a 400."""
    client = make_client(datalab_manager)
    provider = InfrastructureProvider.objects.create(name="Hadoop AP-HP")
    body = {"name": "lab-cardio", "infrastructure_provider": str(provider.pk)}
    response = while_a_write_is_uncommitted(
        lambda: Datalab.objects.create(name="lab-cardio", infrastructure_provider=provider),
        lambda: client.post(DATALABS, body, format="json"),
    )

    assert response.status_code == 400
    assert response.json() == {"name": ["A datalab with this name already exists"]}
    assert list(Datalab.all_objects.values_list("name", flat=True)) == ["lab-cardio"]


@pytest.mark.django_db(transaction=True)
def test_a_rename_racing_a_delete_leaves_the_datalab_deleted(datalab_manager, make_client, datalab):
    """The PATCH read the datalab before the delete committed: writing back every column would revive it."""
    response = while_a_write_is_uncommitted(
        lambda: soft_delete(Datalab, [datalab.pk]),
        lambda: make_client(datalab_manager).patch(at(DATALABS, datalab), {"name": "lab-renamed"}, format="json"),
    )

    assert response.status_code == 200, response.content
    assert Datalab.all_objects.get(pk=datalab.pk).deleted is not None


# --------------------------------------------------------------------------- infrastructure providers (§15.6)


class TestInfrastructureProviders:
    @pytest.mark.parametrize(
        ("method", "detail"), [("get", False), ("get", True), ("post", False), ("patch", True), ("delete", True)]
    )
    @pytest.mark.parametrize("caller", ["anonymous", "researcher", "manage_only"])
    def test_callers_without_the_read_right_are_refused(
        self, request, make_client, anonymous, provider, method, detail, caller
    ):
        client = anonymous if caller == "anonymous" else make_client(request.getfixturevalue(caller))
        before = rows(InfrastructureProvider)
        url = at(PROVIDERS, provider) if detail else PROVIDERS
        response = getattr(client, method)(url, {"name": "Cloud Azure"}, format="json")
        assert response.status_code == 403
        assert rows(InfrastructureProvider) == before

    @pytest.mark.parametrize(("method", "detail"), [("post", False), ("patch", True), ("delete", True)])
    def test_readers_cannot_write(self, reader_client, provider, method, detail):
        before = rows(InfrastructureProvider)
        url = at(PROVIDERS, provider) if detail else PROVIDERS
        response = getattr(reader_client, method)(url, {"name": "Cloud Azure"}, format="json")
        assert response.status_code == 403
        assert rows(InfrastructureProvider) == before

    def test_readers_list_providers_as_the_portail_asks(self, reader_client, provider):
        azure = InfrastructureProvider.objects.create(name="Cloud Azure")
        response = reader_client.get(PROVIDERS)
        assert response.status_code == 200
        assert response.json() == {
            "count": 2,
            "next": None,
            "previous": None,
            "results": [
                {"uuid": str(azure.pk), "name": "Cloud Azure"},
                {"uuid": str(provider.pk), "name": "Hadoop AP-HP"},
            ],
        }
        detail = reader_client.get(at(PROVIDERS, provider))
        assert detail.status_code == 200
        assert detail.json() == {"uuid": str(provider.pk), "name": "Hadoop AP-HP"}

    def test_limit_offset_filters_search_and_ordering(self, reader_client):
        for name in ("Delta", "Alpha", "Charlie", "Bravo"):
            InfrastructureProvider.objects.create(name=name)

        def names(**params) -> list[str]:
            return [row["name"] for row in results_page(reader_client.get(PROVIDERS, params))]

        assert names() == ["Alpha", "Bravo", "Charlie", "Delta"]
        assert names(limit=2, offset=1) == ["Bravo", "Charlie"]
        assert names(ordering="-name") == ["Delta", "Charlie", "Bravo", "Alpha"]
        assert names(name="Alpha") == ["Alpha"]
        assert names(name="alp") == []  # exact
        assert names(search="ARL") == ["Charlie"]
        body = reader_client.get(PROVIDERS, {"limit": 2}).json()
        assert (body["count"], body["previous"]) == (4, None)
        assert "limit=2" in body["next"] and "offset=2" in body["next"]

    def test_unknown_and_malformed_details_are_404(self, reader_client):
        assert reader_client.get(f"{PROVIDERS}{UNKNOWN_UUID}/").status_code == 404
        assert reader_client.get(f"{PROVIDERS}nope/").status_code == 404

    @pytest.mark.parametrize("client", ["manager_client", "admin_client"])
    def test_managers_create_and_rename_providers(self, request, client):
        client = request.getfixturevalue(client)
        response = client.post(PROVIDERS, {"name": "Cloud Azure"}, format="json")
        assert response.status_code == 201, response.content
        created = InfrastructureProvider.objects.get()
        assert response.json() == {"uuid": str(created.pk), "name": "Cloud Azure"}

        response = client.patch(at(PROVIDERS, created), {"name": "Azure"}, format="json")
        assert response.status_code == 200
        assert response.json() == {"uuid": str(created.pk), "name": "Azure"}
        created.refresh_from_db()
        assert created.name == "Azure"

    @pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 256}, {"name": None}, {"name": ["a"]}])
    def test_bad_bodies_are_refused(self, manager_client, provider, body):
        before = rows(InfrastructureProvider)
        response = manager_client.post(PROVIDERS, body, format="json")
        assert response.status_code == 400
        assert "name" in response.json()
        assert rows(InfrastructureProvider) == before

    @pytest.mark.parametrize("body", [{"name": ""}, {"name": "x" * 256}, {"name": None}])
    def test_bad_changes_are_refused(self, manager_client, provider, body):
        before = rows(InfrastructureProvider)
        response = manager_client.patch(at(PROVIDERS, provider), body, format="json")
        assert response.status_code == 400
        assert "name" in response.json()
        assert rows(InfrastructureProvider) == before

    def test_providers_cannot_be_replaced(self, manager_client, provider):
        before = rows(InfrastructureProvider)
        response = manager_client.put(at(PROVIDERS, provider), {"name": "Cloud Azure"}, format="json")
        assert response.status_code == 405
        assert rows(InfrastructureProvider) == before

    def test_deletion_is_soft_and_takes_the_providers_datalabs_along(self, manager_client, reader_client, provider):
        lab = Datalab.objects.create(name="lab-cardio", infrastructure_provider=provider)
        kept = InfrastructureProvider.objects.create(name="Cloud Azure")

        response = manager_client.delete(at(PROVIDERS, provider))

        assert response.status_code == 204
        stored = InfrastructureProvider.all_objects.get(pk=provider.pk)
        assert stored.deleted is not None and stored.deleted_by_cascade is False
        assert uuids(reader_client.get(PROVIDERS)) == [str(kept.pk)]
        assert reader_client.get(at(PROVIDERS, provider)).status_code == 404
        assert Datalab.all_objects.get(pk=lab.pk).deleted_by_cascade is True
        assert page(reader_client.get(DATALABS))["results"] == []
        # Deleting it again: it is gone.
        assert manager_client.delete(at(PROVIDERS, provider)).status_code == 404

    def test_the_list_costs_the_same_whatever_its_length(self, reader_client, django_assert_max_num_queries):
        def add_providers(count: int) -> None:
            for _ in range(count):
                InfrastructureProvider.objects.create(name=f"Provider {uuid.uuid4().hex[:6]}")

        add_providers(5)
        assert_bounded_queries(reader_client, PROVIDERS, {"limit": 1000}, add_providers, django_assert_max_num_queries)


def results_page(response) -> list[dict]:
    """The rows of a limit/offset page (whose count may exceed the page)."""
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == LIMIT_OFFSET_KEYS
    return body["results"]


# ------------------------------------------------------------------------------------------- export stats (§15.7)


def stat_row(stat: ExportResultStat) -> dict:
    return {
        "uuid": str(stat.pk),
        "export_target": stat.export.target_name,
        "deleted": None,
        "deleted_by_cascade": False,
        "created_at": stat.created_at,
        "modified_at": stat.modified_at,
        "name": stat.name,
        "type": stat.type,
        "value": stat.value,
        "export": str(stat.export_id),
    }


@pytest.fixture
def stats_of_two_users(researcher, other, make_cohort, make_export, make_stat):
    mine = make_export(researcher, make_cohort(researcher))
    theirs = make_export(other, make_cohort(other))
    return make_stat(mine), make_stat(theirs)


class TestExportStatsReads:
    @pytest.mark.parametrize(("method", "detail"), [("get", False), ("get", True), ("post", False), ("patch", True)])
    def test_anonymous_callers_are_refused(self, anonymous, stats_of_two_users, method, detail):
        stat = stats_of_two_users[0]
        url = at(STATS, stat) if detail else STATS
        body = {"name": "x", "type": "Text", "value": "y", "export": str(stat.export_id)}
        assert_refused_unchanged(anonymous, method, url, body, ExportResultStat)

    def test_researchers_see_the_stats_of_their_own_exports_only(
        self, researcher_client, researcher, stats_of_two_users
    ):
        mine, theirs = stats_of_two_users
        listed = results(researcher_client.get(STATS))
        assert [with_instants(row) for row in listed] == [stat_row(mine)]
        detail = researcher_client.get(at(STATS, mine))
        assert detail.status_code == 200
        assert with_instants(detail.json()) == stat_row(mine)
        assert researcher_client.get(at(STATS, theirs)).status_code == 404
        # Naming the other export's uuid does not reach its stats either.
        assert results(researcher_client.get(STATS, {"export": str(theirs.export_id)})) == []

    @pytest.mark.parametrize("caller", ["full_admin", "datalab_reader", "pipeline"])
    def test_pipeline_and_export_administrators_see_every_stat(
        self, request, make_client, pipeline_client, stats_of_two_users, caller
    ):
        client = pipeline_client if caller == "pipeline" else make_client(request.getfixturevalue(caller))
        assert sorted(uuids(client.get(STATS))) == sorted(str(stat.pk) for stat in stats_of_two_users)
        assert client.get(at(STATS, stats_of_two_users[1])).status_code == 200

    def test_filters_and_ordering(self, admin_client, researcher, other, make_cohort, make_export, make_stat):
        first = make_export(researcher, make_cohort(researcher), target_name="b_target")
        second = make_export(other, make_cohort(other), target_name="a_target")
        patients = make_stat(first, name="patients_count", type="Integer", value="12")
        size = make_stat(first, name="size", type="SizeBytes", value="2048")
        tables = make_stat(second, name="tables", type="Text", value="person,visit")

        def listed(**params) -> list[str]:
            return uuids(admin_client.get(STATS, params))

        assert listed() == [str(tables.pk), str(size.pk), str(patients.pk)]  # newest first
        assert listed(name="COUNT") == [str(patients.pk)]
        assert listed(export=str(second.pk)) == [str(tables.pk)]
        assert listed(export_target_name="B_TAR") == [str(size.pk), str(patients.pk)]
        assert listed(type="Text") == [str(tables.pk)]
        assert listed(type="text") == []  # exact
        assert listed(ordering="name") == [str(patients.pk), str(size.pk), str(tables.pk)]
        assert listed(ordering="-type") == [str(tables.pk), str(size.pk), str(patients.pk)]
        assert listed(ordering="value") == [str(patients.pk), str(size.pk), str(tables.pk)]
        assert listed(ordering="export")[0] == str(tables.pk)  # by the export's target name

    def test_a_malformed_export_filter_is_a_400(self, admin_client, stats_of_two_users):
        response = admin_client.get(STATS, {"export": "not-a-uuid"})
        assert response.status_code == 400
        assert "export" in response.json()

    def test_unknown_and_malformed_details_are_404(self, admin_client):
        assert admin_client.get(f"{STATS}{UNKNOWN_UUID}/").status_code == 404
        assert admin_client.get(f"{STATS}nope/").status_code == 404

    def test_the_list_costs_the_same_whatever_its_length(
        self, admin_client, hospital, make_export, make_stat, django_assert_max_num_queries
    ):
        def add_stats(count: int) -> None:
            for _ in range(count):
                make_stat(make_export(UserFactory()))

        add_stats(5)
        assert_bounded_queries(admin_client, STATS, {"limit": 1000}, add_stats, django_assert_max_num_queries)


class TestExportStatsWrites:
    def test_the_pipeline_records_and_corrects_a_stat(self, pipeline_client, researcher, make_cohort, make_export):
        export = make_export(researcher, make_cohort(researcher))
        body = {"name": "patients_count", "type": "Integer", "value": "1523", "export": str(export.pk)}

        response = pipeline_client.post(STATS, body, format="json")

        assert response.status_code == 201, response.content
        stat = ExportResultStat.objects.get()
        assert with_instants(response.json()) == stat_row(stat)
        assert (stat.name, stat.type, stat.value, stat.export_id) == ("patients_count", "Integer", "1523", export.pk)

        response = pipeline_client.patch(at(STATS, stat), {"value": "1524"}, format="json")
        assert response.status_code == 200, response.content
        stat.refresh_from_db()
        assert stat.value == "1524"
        assert with_instants(response.json()) == stat_row(stat)

    @pytest.mark.parametrize("caller", ["researcher", "full_admin", "datalab_manager"])
    @pytest.mark.parametrize(("method", "detail"), [("post", False), ("patch", True)])
    def test_nobody_else_writes_stats_even_of_their_own_exports(
        self, request, make_client, researcher, make_cohort, make_export, make_stat, caller, method, detail
    ):
        user = request.getfixturevalue(caller)
        stat = make_stat(make_export(user, make_cohort(researcher)))
        before = rows(ExportResultStat)
        url = at(STATS, stat) if detail else STATS
        body = {"name": "forged", "type": "Integer", "value": "0", "export": str(stat.export_id)}
        response = getattr(make_client(user), method)(url, body, format="json")
        assert response.status_code == 403
        assert rows(ExportResultStat) == before

    @pytest.mark.parametrize("method", ["put", "delete"])
    def test_stats_cannot_be_replaced_nor_deleted(self, pipeline_client, stats_of_two_users, method):
        stat = stats_of_two_users[0]
        before = rows(ExportResultStat)
        body = {"name": "x", "type": "Text", "value": "y", "export": str(stat.export_id)}
        response = getattr(pipeline_client, method)(at(STATS, stat), body, format="json")
        assert response.status_code == 405
        assert rows(ExportResultStat) == before

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"type": "Float"}, "type"),
            ({"type": None}, "type"),
            ({"export": "not-a-uuid"}, "export"),
            ({"export": UNKNOWN_UUID}, "export"),
            ({"export": None}, "export"),
            ({"name": ""}, "name"),
            ({"name": "x" * 56}, "name"),
            ({"value": "x" * 56}, "value"),
        ],
    )
    def test_bad_bodies_are_refused(self, pipeline_client, stats_of_two_users, change, field):
        stat = stats_of_two_users[0]
        before = rows(ExportResultStat)
        body = {"name": "patients_count", "type": "Integer", "value": "1", "export": str(stat.export_id), **change}

        created = pipeline_client.post(STATS, body, format="json")
        changed = pipeline_client.patch(at(STATS, stat), change, format="json")

        for response in (created, changed):
            assert response.status_code == 400
            assert field in response.json()
        assert rows(ExportResultStat) == before

    def test_missing_fields_are_refused(self, pipeline_client, stats_of_two_users):
        before = rows(ExportResultStat)
        response = pipeline_client.post(STATS, {}, format="json")
        assert response.status_code == 400
        assert set(response.json()) == {"name", "type", "value", "export"}
        assert rows(ExportResultStat) == before
