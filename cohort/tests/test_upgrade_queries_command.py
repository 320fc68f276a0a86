"""The bulk upgrade of stored queries on database rows: command, service, undo and data migration."""

from __future__ import annotations

import json
import logging
from importlib import import_module
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.migrations.loader import MigrationLoader

from cohort.models import (
    FhirFilter,
    FhirFilterPatch,
    Folder,
    Request,
    RequestQuerySnapshot,
    RequestQuerySnapshotPatch,
)
from cohort.query_versions.rows import in_pages
from cohort.services.query_upgrades import restore_snapshot_patch, upgrade_snapshots

pytestmark = pytest.mark.django_db

CRITERION = {"_id": 1, "_type": "basicResource", "resourceType": "MedicationRequest", "filterFhir": "medication=X"}
OLD_QUERY = json.dumps(
    {
        "version": "v1.6.0",
        "_type": "request",
        "sourcePopulation": {"caresiteCohortList": ["8312002244"]},
        "request": {"_id": 0, "_type": "andGroup", "criteria": [CRITERION]},
    }
)
CURRENT_QUERY = json.dumps({"version": "v1.6.1", "_type": "request", "request": {"_id": 0, "criteria": []}})
UNKNOWN_QUERY = json.dumps({"version": "v2.0.0", "_type": "request", "request": {"_id": 0, "criteria": []}})
BROKEN_QUERY = json.dumps({"version": "v1.6.0", "_type": "mystery"})
# A legacy Condition query: v1.3.0 prefixes its code with the ORBIS CIM-10 system, so it needs configuration.
CODED_QUERY = json.dumps(
    {
        "_type": "request",
        "request": {"_id": 0, "_type": "andGroup", "criteria": [
            {"_id": 1, "_type": "basicResource", "resourceType": "Condition", "filterFhir": "code=E11"}
        ]},
    }
)  # fmt: skip
SYSTEMS = {
    "orbis_cim10": "https://codes.example.org/orbis-cim10",
    "cim10": "https://codes.example.org/cim10",
    "contenttype": "https://codes.example.org/media-types",
}
NOT_CONFIGURED = "code system orbis_cim10 is not configured (setting QUERY_UPGRADE_CODE_SYSTEMS)"


@pytest.fixture(autouse=True)
def no_code_systems(settings):
    """Nothing configured unless a test asks for `configured`: the tests never depend on the environment."""
    settings.QUERY_UPGRADE_CODE_SYSTEMS = {}


@pytest.fixture
def configured(settings):
    settings.QUERY_UPGRADE_CODE_SYSTEMS = SYSTEMS


def filter_of(text: str) -> str:
    return json.loads(text)["request"]["criteria"][0]["filterFhir"]


@pytest.fixture
def make_snapshot(user):
    folder = Folder.objects.create(owner=user, name="Folder")
    request = Request.objects.create(owner=user, name="Request", parent_folder=folder)
    return lambda text: RequestQuerySnapshot.objects.create(owner=user, request=request, serialized_query=text)


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("upgrade_queries", *args, stdout=out, stderr=out)
    return out.getvalue()


def test_a_dry_run_changes_nothing(make_snapshot):
    snapshot = make_snapshot(OLD_QUERY)
    output = run_command("--dry-run")
    assert "Query snapshots: 1 upgraded, 0 already current, 0 skipped, 0 failed" in output
    assert "Dry run: nothing was saved." in output
    snapshot.refresh_from_db()
    assert snapshot.serialized_query == OLD_QUERY
    assert not RequestQuerySnapshotPatch.objects.exists()


def test_a_run_upgrades_and_keeps_the_previous_text_in_the_history(make_snapshot):
    old, current, unknown = make_snapshot(OLD_QUERY), make_snapshot(CURRENT_QUERY), make_snapshot(UNKNOWN_QUERY)
    modified_at = old.modified_at
    output = run_command()
    assert "Query snapshots: 1 upgraded, 1 already current, 1 skipped, 0 failed" in output
    assert f"skipped {unknown.pk}: unknown query format version 'v2.0.0'" in output
    old.refresh_from_db()
    assert json.loads(old.serialized_query)["version"] == "v1.6.1"
    assert filter_of(old.serialized_query) == "code=X"
    assert old.modified_at == modified_at  # a format upgrade is not an edit by the owner
    patch = RequestQuerySnapshotPatch.objects.get()
    assert (patch.snapshot_id, patch.patch_version, patch.serialized_query) == (old.pk, 1, OLD_QUERY)
    for untouched, text in ((current, CURRENT_QUERY), (unknown, UNKNOWN_QUERY)):
        untouched.refresh_from_db()
        assert untouched.serialized_query == text
    assert "0 upgraded, 2 already current" in run_command()  # a second run has nothing left to do


def test_soft_deleted_snapshots_are_upgraded_too(make_snapshot):
    snapshot = make_snapshot(OLD_QUERY)
    snapshot.delete()
    report = upgrade_snapshots()
    assert report.snapshots.upgraded == [str(snapshot.pk)]


def test_restore_puts_the_previous_text_back_and_records_the_replaced_one(make_snapshot):
    snapshot = make_snapshot(OLD_QUERY)
    upgrade_snapshots()
    snapshot.refresh_from_db()
    upgraded_text = snapshot.serialized_query
    restore_snapshot_patch(snapshot, 1)
    snapshot.refresh_from_db()
    assert snapshot.serialized_query == OLD_QUERY
    assert list(snapshot.patches.order_by("patch_version").values_list("patch_version", "serialized_query")) == [
        (1, OLD_QUERY),
        (2, upgraded_text),
    ]
    with pytest.raises(RequestQuerySnapshotPatch.DoesNotExist):
        restore_snapshot_patch(snapshot, 9)


def test_a_failure_is_reported_with_exit_code_1_and_does_not_stop_the_others(make_snapshot):
    broken, old = make_snapshot(BROKEN_QUERY), make_snapshot(OLD_QUERY)
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("upgrade_queries", stdout=out, stderr=out)
    assert error.value.returncode == 1
    assert f"failed {broken.pk}: unknown query _type 'mystery'" in out.getvalue()
    assert "1 upgraded, 0 already current, 0 skipped, 1 failed" in out.getvalue()
    broken.refresh_from_db()
    old.refresh_from_db()
    assert broken.serialized_query == BROKEN_QUERY
    assert filter_of(old.serialized_query) == "code=X"


def test_a_query_needing_an_unconfigured_code_system_is_reported_and_left_unchanged(make_snapshot, settings):
    coded = make_snapshot(CODED_QUERY)
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("upgrade_queries", stdout=out, stderr=out)
    assert f"failed {coded.pk}: {NOT_CONFIGURED}" in out.getvalue()
    coded.refresh_from_db()
    assert coded.serialized_query == CODED_QUERY
    assert not coded.patches.exists()

    settings.QUERY_UPGRADE_CODE_SYSTEMS = SYSTEMS
    assert "Query snapshots: 1 upgraded, 0 already current, 0 skipped, 0 failed" in run_command()
    coded.refresh_from_db()
    assert filter_of(coded.serialized_query) == "code=https://codes.example.org/cim10|NON RENSEIGNE&subject.active=true"


def make_filter(user, **fields) -> FhirFilter:
    defaults = {"fhir_version": "4.0", "name": "filter", "fhir_resource": "Observation", "query_version": "v1.4.4"}
    return FhirFilter.objects.create(owner=user, **(defaults | fields))


def test_fhir_filters_are_upgraded_only_when_asked(user):
    fhir_filter = make_filter(user, filter="code=A0001&subject.active=true")
    assert "FHIR filters" not in run_command()
    fhir_filter.refresh_from_db()
    assert (fhir_filter.filter, fhir_filter.query_version) == ("code=A0001&subject.active=true", "v1.4.4")

    assert "FHIR filters: 1 upgraded" in run_command("--include-filters", "--dry-run")
    assert not FhirFilterPatch.objects.exists()
    output = run_command("--include-filters")
    assert "FHIR filters: 1 upgraded, 0 already current, 0 skipped, 0 failed" in output
    fhir_filter.refresh_from_db()
    assert fhir_filter.filter == "code=A0001&subject.active=true&value-quantity=ge0,le0"
    assert fhir_filter.query_version == "v1.6.1"
    patch = FhirFilterPatch.objects.get()
    assert (patch.fhir_filter_id, patch.patch_version, patch.filter) == (
        fhir_filter.pk,
        1,
        "code=A0001&subject.active=true",
    )


def test_a_filter_whose_renamed_resource_collides_is_reported_and_left_unchanged(user, configured):
    legacy = make_filter(user, fhir_resource="Composition", filter="status=final", query_version="v1.2.0")
    make_filter(user, fhir_resource="DocumentReference", filter="docstatus=final", query_version="v1.6.1")
    report = upgrade_snapshots(include_filters=True)
    assert report.has_failures
    assert report.filters.upgraded == []
    assert [issue.id for issue in report.filters.failed] == [str(legacy.pk)]
    assert report.filters.failed[0].reason.startswith("could not be saved")
    legacy.refresh_from_db()
    assert (legacy.fhir_resource, legacy.filter, legacy.query_version) == ("Composition", "status=final", "v1.2.0")


def test_a_legacy_filter_gets_its_resource_renamed(user, configured):
    legacy = make_filter(user, fhir_resource="Composition", filter="status=final", query_version="v1.2.0")
    upgrade_snapshots(include_filters=True)
    legacy.refresh_from_db()
    assert (legacy.fhir_resource, legacy.filter, legacy.query_version) == (
        "DocumentReference",
        "docstatus=final&subject.active=true&contenttype=https://codes.example.org/media-types|text/plain",
        "v1.6.1",
    )


def test_a_legacy_filter_needing_an_unconfigured_code_system_is_left_unchanged(user):
    legacy = make_filter(user, fhir_resource="Composition", filter="status=final", query_version="v1.2.0")
    report = upgrade_snapshots(include_filters=True)
    assert [(issue.id, issue.reason) for issue in report.filters.failed] == [
        (str(legacy.pk), "code system contenttype is not configured (setting QUERY_UPGRADE_CODE_SYSTEMS)")
    ]
    legacy.refresh_from_db()
    assert (legacy.fhir_resource, legacy.filter, legacy.query_version) == ("Composition", "status=final", "v1.2.0")
    assert not FhirFilterPatch.objects.exists()


migration = import_module("cohort.migrations.0002_upgrade_stored_queries")


@pytest.fixture(scope="module")
def historical_apps():
    """The models as the migration sees them: no custom managers, no custom save()."""
    return MigrationLoader(None, ignore_no_migrations=True).project_state(("cohort", "0001_initial")).apps


def test_the_data_migration_upgrades_snapshots_and_writes_their_history(make_snapshot, historical_apps):
    old, current, broken = make_snapshot(OLD_QUERY), make_snapshot(CURRENT_QUERY), make_snapshot(BROKEN_QUERY)
    RequestQuerySnapshotPatch.objects.create(
        snapshot=old, snapshot_uuid=str(old.pk), patch_version=1, serialized_query="an older text"
    )
    migration.upgrade_stored_queries(historical_apps, None)
    old.refresh_from_db()
    assert filter_of(old.serialized_query) == "code=X"
    assert list(old.patches.order_by("patch_version").values_list("patch_version", "serialized_query")) == [
        (1, "an older text"),
        (2, OLD_QUERY),
    ]
    for untouched, text in ((current, CURRENT_QUERY), (broken, BROKEN_QUERY)):
        untouched.refresh_from_db()
        assert untouched.serialized_query == text
        assert not untouched.patches.exists()


@pytest.fixture
def info_log(caplog):
    """The `info` logger does not propagate to the root logger, which caplog listens to."""
    logger = logging.getLogger("info")
    logger.addHandler(caplog.handler)
    yield caplog
    logger.removeHandler(caplog.handler)


def test_with_nothing_configured_the_migration_leaves_coded_queries_unchanged(make_snapshot, historical_apps, info_log):
    old, coded = make_snapshot(OLD_QUERY), make_snapshot(CODED_QUERY)
    migration.upgrade_stored_queries(historical_apps, None)
    old.refresh_from_db()
    coded.refresh_from_db()
    assert filter_of(old.serialized_query) == "code=X"
    assert coded.serialized_query == CODED_QUERY
    assert not coded.patches.exists()
    assert f"Query snapshot {coded.pk} left unchanged: {NOT_CONFIGURED}" in info_log.messages


def test_with_code_systems_configured_the_migration_upgrades_coded_queries(make_snapshot, historical_apps, configured):
    coded = make_snapshot(CODED_QUERY)
    migration.upgrade_stored_queries(historical_apps, None)
    coded.refresh_from_db()
    assert json.loads(coded.serialized_query)["version"] == "v1.6.1"
    assert filter_of(coded.serialized_query) == "code=https://codes.example.org/cim10|NON RENSEIGNE&subject.active=true"
    assert list(coded.patches.values_list("patch_version", "serialized_query")) == [(1, CODED_QUERY)]


def test_the_data_migration_is_harmless_on_an_empty_database(django_assert_max_num_queries, historical_apps):
    with django_assert_max_num_queries(1):
        migration.upgrade_stored_queries(historical_apps, None)


def test_rows_are_read_page_by_page(make_snapshot):
    snapshots = [make_snapshot(CURRENT_QUERY) for _ in range(5)]
    rows = list(in_pages(RequestQuerySnapshot.all_objects.all(), size=2))
    assert [row.pk for row in rows] == sorted(snapshot.pk for snapshot in snapshots)
