"""The export list and detail (spec 02 §15.1-§15.3; client contract EXP-1, EXP-2): who sees what, shapes,
filters, search, ordering, the empty-page 204, and a bounded number of queries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from exports.models import Export, ExportTable
from exports.tests.conftest import EXPORTS, detail

pytestmark = pytest.mark.django_db

LIST_KEYS = {
    "uuid",
    "owner",
    "output_format",
    "motivation",
    "cohort_id",
    "cohort_name",
    "patients_count",
    "created_at",
    "modified_at",
    "request_job_status",
    "target_datalab",
    "target_name",
}
FULL_KEYS = {
    "uuid",
    "request_job_id",
    "request_job_status",
    "request_job_fail_msg",
    "owner",
    "output_format",
    "datalab",
    "nominative",
    "target_name",
    "target_location",
    "shift_dates",
    "group_tables",
    "export_tables",
    "motivation",
}


def uuids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["uuid"] for row in response.json()["results"]]


def created_on(export: Export, moment: str) -> Export:
    Export.objects.filter(pk=export.pk).update(created_at=datetime.fromisoformat(moment).replace(tzinfo=UTC))
    return export


class TestAuthentication:
    @pytest.mark.parametrize(
        ("method", "suffix"),
        [
            ("get", ""),
            ("post", ""),
            ("get", "{uuid}/"),
            ("get", "{uuid}/download/"),
            ("post", "{uuid}/retry/"),
            ("post", "{uuid}/relaunch/"),
            ("get", "{uuid}/logs/"),
        ],
    )
    def test_anonymous_callers_are_refused(self, anonymous, researcher, make_cohort, make_export, method, suffix):
        export = make_export(researcher, make_cohort(researcher), request_job_status="failed")
        body = {"output_format": "csv", "nominative": True, "export_tables": [{"table_name": "person"}]}
        response = getattr(anonymous, method)(EXPORTS + suffix.format(uuid=export.pk), body, format="json")
        assert response.status_code == 403
        assert list(Export.objects.values_list("pk", "request_job_status")) == [(export.pk, "failed")]

    @pytest.mark.parametrize("method", ["put", "patch", "delete"])
    def test_exports_cannot_be_changed_nor_deleted(
        self, researcher_client, researcher, make_cohort, make_export, method
    ):
        export = make_export(researcher, make_cohort(researcher))
        response = getattr(researcher_client, method)(detail(export), {"motivation": "changed"}, format="json")
        assert response.status_code == 405
        assert Export.objects.get().motivation is None


class TestVisibility:
    def test_researchers_see_their_own_exports_only(
        self, researcher_client, researcher, other, make_cohort, make_export
    ):
        mine = make_export(researcher, make_cohort(researcher))
        theirs = make_export(other, make_cohort(other))

        assert uuids(researcher_client.get(EXPORTS)) == [str(mine.pk)]
        # Asking for another owner's exports gives nothing rather than their exports (spec 02 §21.5).
        assert researcher_client.get(EXPORTS, {"owner": "DURAND"}).status_code == 204
        assert researcher_client.get(detail(mine)).status_code == 200
        # Deliberately 404 (the reference answers 403): the caller does not learn that the export exists.
        assert researcher_client.get(detail(theirs)).status_code == 404

    @pytest.mark.parametrize("admin", ["datalab_reader", "full_admin"])
    def test_export_administrators_see_every_export(
        self, request, make_client, researcher, other, make_cohort, make_export, admin
    ):
        exports = [make_export(researcher, make_cohort(researcher)), make_export(other, make_cohort(other))]
        client = make_client(request.getfixturevalue(admin))
        assert sorted(uuids(client.get(EXPORTS))) == sorted(str(export.pk) for export in exports)
        assert client.get(detail(exports[1])).status_code == 200

    def test_unknown_and_malformed_uuids_are_404(self, researcher_client):
        assert researcher_client.get(f"{EXPORTS}6f1e2d3c-0000-4000-8000-000000000000/").status_code == 404
        assert researcher_client.get(f"{EXPORTS}not-a-uuid/").status_code == 404

    def test_deleted_exports_are_not_listed(self, researcher_client, researcher, make_cohort, make_export):
        make_export(researcher, make_cohort(researcher)).delete()
        assert researcher_client.get(EXPORTS).status_code == 204


class TestRepresentations:
    def test_list_representation(self, researcher_client, researcher, make_cohort, datalab, make_export):
        cohort = make_cohort(researcher, group_id="123456", name="My cohort", measure=1523)
        export = make_export(
            researcher,
            output_format="hive",
            tables=(),
            datalab=datalab,
            motivation="Study X - phase 2",
            target_name="datalab01_20260112_102030123456",
        )
        # The first table (in creation order) that has a source cohort gives the cohort columns.
        ExportTable.objects.create(export=export, name="iris")
        ExportTable.objects.create(export=export, name="patient", cohort_result_source=cohort)
        ExportTable.objects.create(
            export=export, name="condition", cohort_result_source=make_cohort(researcher, group_id="999")
        )

        body = researcher_client.get(EXPORTS).json()

        assert (body["count"], body["next"], body["previous"]) == (1, None, None)
        (row,) = body["results"]
        assert set(row) == LIST_KEYS
        assert row == row | {
            "uuid": str(export.pk),
            "owner": "Alice MARTIN (4000001)",
            "output_format": "hive",
            "motivation": "Study X - phase 2",
            "cohort_id": "123456",
            "cohort_name": "My cohort",
            "patients_count": 1523,
            "request_job_status": "finished",
            "target_datalab": "datalab01",
            "target_name": "datalab01_20260112_102030123456",
        }

    def test_an_export_without_source_cohort_lists_null_cohort_columns(
        self, researcher_client, researcher, make_export
    ):
        make_export(researcher, None)
        (row,) = researcher_client.get(EXPORTS).json()["results"]
        assert (row["cohort_id"], row["cohort_name"], row["patients_count"], row["target_datalab"]) == (
            None,
            None,
            None,
            None,
        )

    def test_full_representation(self, researcher_client, researcher, make_cohort, make_export):
        cohort = make_cohort(researcher)
        export = make_export(
            researcher,
            cohort,
            tables=("person", "note"),
            request_job_id="task-1",
            shift_dates=True,
            motivation="Study",
        )
        ExportTable.objects.filter(name="note").update(pivot_merge_columns=["linkId1"], pivot_merge_ids=["qId"])

        response = researcher_client.get(detail(export))
        assert response.status_code == 200, response.content
        full = response.json()
        (listed,) = researcher_client.get(EXPORTS, {"return_full_objects": "true"}).json()["results"]
        assert listed == full
        assert set(full) == FULL_KEYS
        assert full == full | {
            "uuid": str(export.pk),
            "request_job_id": "task-1",
            "request_job_status": "finished",
            "request_job_fail_msg": "",
            "owner": "4000001",
            "output_format": "csv",
            "datalab": None,
            "nominative": True,
            "target_name": "4000001_20260112_102030123456",
            "target_location": "/exports/csv",
            "shift_dates": True,
            "group_tables": False,
            "motivation": "Study",
        }
        table = {
            "name": "person",
            "respect_table_relationships": True,
            "fhir_filter": None,
            "cohort_result_source": str(cohort.pk),
            "pivot_merge": False,
            "pivot_merge_columns": None,
            "pivot_merge_ids": None,
        }
        assert full["export_tables"] == [
            table,
            table | {"name": "note", "pivot_merge_columns": ["linkId1"], "pivot_merge_ids": ["qId"]},
        ]

    def test_return_full_objects_false_is_the_list_representation(self, researcher_client, researcher, make_export):
        make_export(researcher)
        (row,) = researcher_client.get(EXPORTS, {"return_full_objects": "false"}).json()["results"]
        assert set(row) == LIST_KEYS

    @pytest.mark.parametrize("value", ["yes", "1", "True", ""])
    def test_return_full_objects_takes_json_booleans_only(self, researcher_client, researcher, make_export, value):
        make_export(researcher)
        response = researcher_client.get(EXPORTS, {"return_full_objects": value})
        assert response.status_code == 400
        assert "return_full_objects" in response.json()


class TestEmptyPage:
    def test_an_empty_page_answers_204_without_body(self, researcher_client):
        response = researcher_client.get(EXPORTS, {"output_format": "csv,xlsx", "owner": "4000001"})
        assert response.status_code == 204
        assert response.content == b""

    def test_a_page_past_the_end_answers_204(self, researcher_client, researcher, make_export):
        make_export(researcher)
        assert researcher_client.get(EXPORTS, {"offset": 20}).status_code == 204


class TestFilters:
    @pytest.fixture
    def exports(self, researcher, other, make_cohort, datalab, make_export):
        """As a full admin sees them: Alice's CSV (finished), Alice's XLSX (failed), Bob's Hive (pending)."""
        cohort = make_cohort(researcher, name="Diabetes cohort", group_id="111")
        return {
            "csv": created_on(make_export(researcher, cohort, motivation="First study"), "2026-01-01T00:30:00"),
            "xlsx": created_on(
                make_export(researcher, cohort, output_format="xlsx", request_job_status="failed", motivation="Other"),
                "2026-01-02T10:00:00",
            ),
            "hive": created_on(
                make_export(
                    other,
                    make_cohort(other, name="Heart cohort", group_id="222"),
                    output_format="hive",
                    request_job_status="pending",
                    datalab=datalab,
                ),
                "2026-01-03T10:00:00",
            ),
        }

    @pytest.mark.parametrize(
        ("params", "expected"),
        [
            ({"output_format": "csv,xlsx"}, {"csv", "xlsx"}),
            ({"output_format": "hive"}, {"hive"}),
            ({"status": "failed,pending"}, {"xlsx", "hive"}),
            ({"request_job_status": "pending,started,new"}, {"hive"}),  # the Portail's name (EXP-2)
            ({"owner": "4000001"}, {"csv", "xlsx"}),  # username
            ({"owner": "alic"}, {"csv", "xlsx"}),  # first name, any case
            ({"owner": "durand"}, {"hive"}),  # last name
            ({"motivation": "STUDY"}, {"csv"}),
            ({"created_at_gte": "2026-01-01 1:00:00"}, {"xlsx", "hive"}),  # the Portail's spelling
            ({"created_at_lte": "2026-01-02"}, {"csv"}),  # a date is midnight
            ({"insert_datetime_gte": "2026-01-02T00:00:00Z", "insert_datetime_lte": "2026-01-02T23:00:00Z"}, {"xlsx"}),
            ({"search": "heart"}, {"hive"}),  # cohort name
            ({"search": "111"}, {"csv", "xlsx"}),  # cohort id
            ({"search": "datalab01"}, {"hive"}),  # datalab name
            ({"search": "bob failed"}, set()),  # every term must match
            ({"search": "alice failed"}, {"xlsx"}),
            ({"unknown": "ignored"}, {"csv", "xlsx", "hive"}),
        ],
    )
    def test_filters_and_search(self, admin_client, exports, params, expected):
        response = admin_client.get(EXPORTS, params)
        listed = set() if response.status_code == 204 else set(uuids(response))
        assert listed == {str(exports[name].pk) for name in expected}

    @pytest.mark.parametrize("params", [{"created_at_gte": "yesterday"}, {"insert_datetime_lte": "2026-13-01"}])
    def test_malformed_dates_are_400(self, admin_client, exports, params):
        assert admin_client.get(EXPORTS, params).status_code == 400

    @pytest.mark.parametrize(
        ("ordering", "expected"),
        [
            (None, ["hive", "xlsx", "csv"]),  # newest first
            ("created_at", ["csv", "xlsx", "hive"]),
            ("-status", ["hive", "csv", "xlsx"]),  # pending, finished, failed
            ("output_format", ["csv", "hive", "xlsx"]),
            ("owner,created_at", ["csv", "xlsx", "hive"]),  # by first name: Alice, Bob (Alice's two by date)
            ("-owner,created_at", ["hive", "csv", "xlsx"]),
        ],
    )
    def test_ordering(self, admin_client, exports, ordering, expected):
        params = {"ordering": ordering} if ordering else {}
        assert uuids(admin_client.get(EXPORTS, params)) == [str(exports[name].pk) for name in expected]

    def test_ordering_by_patients_count(self, admin_client, researcher, make_cohort, make_export):
        small = make_export(researcher, make_cohort(researcher, measure=10))
        large = make_export(researcher, make_cohort(researcher, measure=5000))
        assert uuids(admin_client.get(EXPORTS, {"ordering": "-patients_count"})) == [str(large.pk), str(small.pk)]

    def test_limit_offset_pagination(self, researcher_client, researcher, make_export):
        exports = [make_export(researcher) for _ in range(3)]
        body = researcher_client.get(EXPORTS, {"limit": 2, "offset": 1, "ordering": "created_at"}).json()
        assert body["count"] == 3
        assert [row["uuid"] for row in body["results"]] == [str(exports[1].pk), str(exports[2].pk)]
        assert body["next"] is None
        assert "limit=2" in body["previous"]


class TestQueryCount:
    @pytest.mark.parametrize("full", ["false", "true"])
    def test_a_page_costs_the_same_whatever_its_size(
        self, admin_client, researcher, make_cohort, datalab, make_export, full
    ):
        def cost() -> int:
            with CaptureQueriesContext(connection) as queries:
                response = admin_client.get(EXPORTS, {"return_full_objects": full, "limit": 50})
            assert response.status_code == 200
            return len(queries)

        def add_exports(count: int) -> None:
            for _ in range(count):
                make_export(researcher, make_cohort(researcher), tables=("person", "note"), datalab=datalab)

        add_exports(1)
        one = cost()
        add_exports(10)
        assert cost() == one
