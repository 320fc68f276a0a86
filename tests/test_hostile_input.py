"""Every documented operation, called with hostile input by a full administrator and by a user without rights,
answers below 500: a 500 on any input is a bug (wrong types, NUL characters, huge numbers, unknown ids...).
And no operation lets a researcher read, change or delete another user's workspace objects and exports.

The operations come from the OpenAPI document, so a new endpoint is covered the day it is added. Path ids are
taken from the lists' answers (real objects) and from malformed values. Hostile values replace, one at a time,
each field of a plausible body built from the documented fields (nested objects' fields included), so that
validation goes past the first required field.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import time

import pytest
from django.apps import apps
from django.db import router

from accesses.models import Perimeter
from accesses.services.perimeter_tree import rebuild_closure
from admin_cohort.models import User
from cohort.models import FeasibilityStudy, FhirFilter, RequestRefreshSchedule
from cohort.tests.builders import cohort_of, measure_of, snapshot_of
from exports.models import Datalab, Export, ExportTable, InfrastructureProvider
from tests.factories import MaintenancePhaseFactory, PerimeterFactory, RoleFactory, UserFactory, grant

HOSTILE_VALUES = [None, [], {"a": [1]}, "x" * 300, 10**20, "\x00", "2026-13-45"]
HOSTILE_QUERY_VALUES = ["abc", "-1", "99999999999999999999999", "\x00", "2026-13-45,"]
HOSTILE_IDS = ["abc", "0", "6f1e2d3c-0000-4000-8000-000000000000", "%00"]
HOSTILE_BODIES = [{}, [], "x", 1]
WRITE_METHODS = ("post", "put", "patch")
# The documented answers of an operation whose outside service (WebHDFS, the Export API...) cannot be reached:
# the sweep runs none of them.
OUTSIDE_SERVICE_ERRORS = {502, 503, 504}
FIELDS_NAMING_USERS = {"owner": "user", "recipients": "user", "provider": "user"}
# Where each user's own objects live; datalabs and infrastructure providers are shared, managed by admins.
PRIVATE_PREFIXES = ("/cohort/", "/exports/")
SHARED_LISTS = {"/exports/datalabs/", "/exports/infrastructure-providers/"}
# The rights that let a user count, create cohorts and export on a perimeter.
READ_AND_EXPORT = {"right_read_patient_nominative": True, "right_export_csv_xlsx_nominative": True}
PLAIN_VALUES = {"string": "A name", "integer": 1, "number": 1, "boolean": False, "array": [], "object": {}}


def _ids_in(body) -> list[str]:
    """The ids of the first objects of a list's answer (paginated or bare)."""
    items = body.get("results") if isinstance(body, dict) else body
    ids = []
    for item in (items if isinstance(items, list) else [])[:2]:
        if isinstance(item, dict):
            ids += [str(item[key]) for key in ("uuid", "id", "username") if isinstance(item.get(key), str | int)]
    return ids


def _a_uuid(ids_by_list: dict[str, list[str]]) -> str:
    return next((i for ids in ids_by_list.values() for i in ids if len(i) == 36), HOSTILE_IDS[2])


class Api:
    def __init__(self, client, schema: dict) -> None:
        self.client, self.schema = client, schema
        self.server_errors: list[str] = []

    def call(self, method: str, url: str, body=None):
        kwargs = {} if body is None else {"data": body, "format": "json"}
        response = getattr(self.client, method)(url, **kwargs)
        if response.status_code >= 500 and response.status_code not in OUTSIDE_SERVICE_ERRORS:
            self.server_errors.append(f"{method.upper()} {url!r} {body!r} -> {response.status_code}")
        return response

    def ids_by_list(self) -> dict[str, list[str]]:
        """The ids of the first objects of every list this client may read, by list path."""
        ids = {}
        paths = self.schema["paths"]
        for path in sorted(p for p in paths if "{" not in p and "get" in paths[p]):
            response = self.call("get", path)
            if response.status_code == 200 and response.get("Content-Type", "").startswith("application/json"):
                ids[path] = _ids_in(response.json())
        return ids

    def resolved(self, spec: dict) -> dict:
        if "$ref" in spec:
            return self.schema["components"]["schemas"][spec["$ref"].rsplit("/", 1)[-1]]
        return spec

    def body_fields(self, operation: dict) -> dict:
        for content in (operation.get("requestBody") or {}).get("content", {}).values():
            return self.resolved(content.get("schema", {})).get("properties", {})
        return {}

    def plausible_body(self, operation: dict, ids_by_list: dict[str, list[str]]) -> dict:
        """A value of the documented type for every field; a field naming a kind of object (`parent_folder`,
        `cohort_ids`, `request_query_snapshot`...) gets the id of one such object from `ids_by_list`; a list of
        objects (an export's `export_tables`) gets one plausible object."""
        return self._plausible_object(self.body_fields(operation), ids_by_list)

    def _plausible_object(self, fields: dict, ids_by_list: dict[str, list[str]]) -> dict:
        return {name: self._plausible(name, self.resolved(spec), ids_by_list) for name, spec in fields.items()}

    def _plausible(self, name: str, spec: dict, ids_by_list: dict[str, list[str]]):
        if spec.get("enum"):
            return spec["enum"][0]
        item_fields = self.resolved(spec.get("items", {})).get("properties")
        if spec.get("type") == "array" and item_fields:
            return [self._plausible_object(item_fields, ids_by_list)]
        referenced = _referenced_id(name, ids_by_list)
        if referenced is not None:
            value = int(referenced) if spec.get("type") == "integer" and referenced.isdigit() else referenced
            return [value] if spec.get("type") == "array" else value
        formats = {"uuid": _a_uuid(ids_by_list), "date-time": "2026-01-01T00:00:00Z", "date": "2026-01-01"}
        return formats.get(spec.get("format"), PLAIN_VALUES.get(spec.get("type"), "x"))


def hostile_variants(body: dict) -> Iterator[dict]:
    """`body` with one of its fields, at any depth (in the first object of a list of objects), set to each
    hostile value in turn."""
    for name, value in body.items():
        for hostile in HOSTILE_VALUES:
            yield {**body, name: hostile}
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for item in hostile_variants(value[0]):
                yield {**body, name: [item, *value[1:]]}


def _referenced_id(field_name: str, ids_by_list: dict[str, list[str]]) -> str | None:
    """The first id listed at the path whose last segment names what the field refers to."""
    wanted = FIELDS_NAMING_USERS.get(field_name) or field_name.removesuffix("_ids").removesuffix("_id")
    for path, ids in sorted(ids_by_list.items()):
        kind = path.rstrip("/").rsplit("/", 1)[-1].replace("-", "_").removesuffix("s")
        if ids and (wanted == kind or wanted.endswith(f"_{kind}")):
            return ids[0]
    return None


@pytest.fixture
def schema(anonymous) -> dict:
    return anonymous.get("/schema", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()


def _urls(path: str, ids_by_list: dict[str, list[str]], extra_ids: Iterable[str] = ()) -> list[str]:
    """`path` itself, or, for a detail path, one URL per id listed at its list path (and per `extra_ids`)."""
    if "{" not in path:
        return [path]
    ids = ids_by_list.get(path[: path.index("{")], []) + list(extra_ids)
    return [re.sub(r"{\w+}", value, path) for value in ids]


def own_objects(owner) -> None:
    """One of each kind of workspace object and export of `owner`, on perimeter 2's cohort."""
    snapshot = snapshot_of(owner, "101")
    cohort = cohort_of(measure_of(snapshot, status="finished", measure=10), status="finished", group_id="55")
    FeasibilityStudy.objects.create(owner=owner, request_query_snapshot=snapshot, request_job_status="finished")
    RequestRefreshSchedule.objects.create(
        owner=owner, request_snapshot=snapshot, refresh_time=time(10), refresh_frequency="daily"
    )
    FhirFilter.objects.create(
        owner=owner, name="Filter", fhir_resource="Condition", fhir_version="4.0", query_version="v1.4.4"
    )
    export = Export.objects.create(
        owner=owner, output_format="csv", nominative=True, request_job_status="finished", target_name="e"
    )
    ExportTable.objects.create(export=export, name="person", cohort_result_source=cohort)


def a_researcher() -> User:
    """A user who may read and export the patients of perimeter 2 (not of its parent, perimeter 1)."""
    researcher = UserFactory()
    grant(researcher, RoleFactory(**READ_AND_EXPORT), Perimeter.objects.get(id=2))
    return researcher


@pytest.fixture
def workspace(full_admin):
    root = PerimeterFactory(id=1, cohort_id="100", level=1)
    PerimeterFactory(id=2, cohort_id="101", parent=root, level=2)
    rebuild_closure()
    grant(full_admin, RoleFactory(**READ_AND_EXPORT), root)
    own_objects(full_admin)
    provider = InfrastructureProvider.objects.create(name="Provider")
    Datalab.objects.create(name="datalab01", infrastructure_provider=provider)
    MaintenancePhaseFactory()


def _caller(kind: str, full_admin):
    if kind == "full administrator":
        return full_admin
    if kind == "researcher":  # rights on part of the tree, and objects of their own: the rights checks run
        researcher = a_researcher()
        own_objects(researcher)
        return researcher
    return UserFactory()


@pytest.mark.parametrize("caller", ["full administrator", "researcher", "user without rights"])
def test_no_operation_answers_500_on_hostile_input(
    transactional_db, workspace, schema, caller, full_admin, make_client
):
    # Each request commits on its own, as in production: a caught database error cannot poison the next ones.
    api = Api(make_client(_caller(caller, full_admin)), schema)
    paths = schema["paths"]
    ids_by_list = api.ids_by_list()

    # The authentication routes last: a logout ends the session, and the rest would be swept anonymously.
    for path in sorted(paths, key=lambda path: (path.startswith("/auth/"), path)):
        for url in _urls(path, ids_by_list, HOSTILE_IDS):
            for method, operation in paths[path].items():
                if method == "get":
                    api.call("get", url)
                    for parameter in (p for p in operation.get("parameters", []) if p.get("in") == "query"):
                        for value in HOSTILE_QUERY_VALUES:
                            api.call("get", f"{url}?{parameter['name']}={value}")
                elif method in WRITE_METHODS:
                    plausible = api.plausible_body(operation, ids_by_list)
                    for body in HOSTILE_BODIES:
                        api.call(method, url, body)
                    for body in hostile_variants(plausible):
                        api.call(method, url, body)

    assert api.server_errors == []


def _all_rows() -> dict[tuple[str, object], dict]:
    """Every row of the default database, by (model, primary key)."""
    rows = {}
    for model in apps.get_models():
        if router.db_for_read(model) != "default":
            continue
        for row in model._base_manager.values():
            rows[(model._meta.label, row[model._meta.pk.attname])] = row
    return rows


def test_a_researcher_changes_nothing_of_anyone_else_through_any_operation(
    transactional_db, workspace, schema, admin_client, make_client
):
    # Every write operation on the objects of another user (an administrator, who owns some of everything),
    # by a researcher whose rights let them reach the cohort and export endpoints, with bodies naming that
    # user's objects (`parent_folder`, `owner`...): nothing of theirs may change, nothing new may point to it.
    ids_by_list = Api(admin_client, schema).ids_by_list()
    researcher = a_researcher()
    api = Api(make_client(researcher), schema)
    before = _all_rows()

    paths = schema["paths"]
    for path in sorted(p for p in paths if not p.startswith("/auth/")):  # a logout would end the session
        for url in _urls(path, ids_by_list):
            for method, operation in paths[path].items():
                if method in WRITE_METHODS:
                    # Naming the other user as owner, then themselves: a refused owner must not hide the rest.
                    body = api.plausible_body(operation, ids_by_list)
                    api.call(method, url, body)
                    if "owner" in body:
                        api.call(method, url, {**body, "owner": researcher.pk})
                elif method == "delete" and "{" in path:
                    api.call(method, url)

    after = _all_rows()
    assert api.server_errors == []
    assert {key: row for key, row in after.items() if key in before and before[key] != row} == {}
    assert set(before) - set(after) == set()
    # New rows: the audit trail, and what the researcher may create for themselves, on nothing of anyone else's.
    created = {key: row for key, row in after.items() if key not in before and key[0] != "admin_cohort.RequestLog"}
    assert {key: row for key, row in created.items() if row.get("owner_id") != researcher.pk} == {}
    assert {key: row for key, row in created.items() if _foreign_references(key[0], row, after, researcher.pk)} == {}


def _foreign_references(label: str, row: dict, rows: dict, owner_pk) -> list[str]:
    """The foreign keys of `row` that point to a row owned by someone other than `owner_pk`."""
    foreign = []
    for field in apps.get_model(label)._meta.concrete_fields:
        if field.is_relation and row.get(field.attname) is not None:
            target = rows.get((field.related_model._meta.label, row[field.attname]), {})
            if target.get("owner_id", owner_pk) != owner_pk:
                foreign.append(field.name)
    return foreign


def test_a_researcher_reads_nothing_of_anyone_else_through_any_operation(
    transactional_db, workspace, schema, admin_client, make_client
):
    # Every read of the workspace and export endpoints, lists and details, asked with the ids of another user's
    # objects: no answer may carry one of those ids (a 404, or a list of the researcher's own objects).
    ids_by_list = Api(admin_client, schema).ids_by_list()
    private = {
        path: ids for path, ids in ids_by_list.items() if path.startswith(PRIVATE_PREFIXES) and path not in SHARED_LISTS
    }
    private_ids = {value for ids in private.values() for value in ids}
    assert sum(bool(ids) for ids in private.values()) >= 10  # the workspace gives the sweep something to find
    researcher = UserFactory()
    grant(researcher, RoleFactory(right_read_patient_nominative=True), Perimeter.objects.get(id=2))
    api = Api(make_client(researcher), schema)

    leaks = []
    for path, operations in sorted(schema["paths"].items()):
        if "get" not in operations or not path.startswith(PRIVATE_PREFIXES) or path in SHARED_LISTS:
            continue
        for url in _urls(path, ids_by_list):
            response = api.call("get", url)
            answer = response.content.decode(errors="replace")
            leaks += [f"GET {url} -> {value}" for value in private_ids if value in answer]
    assert api.server_errors == []
    assert leaks == []
