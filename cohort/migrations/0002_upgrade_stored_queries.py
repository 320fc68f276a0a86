"""Upgrades the stored query snapshots to the latest query format, keeping each previous text as a patch.

Historical models have no custom save(): the patch row is written here, the query rewrite itself comes from
`cohort.query_versions`. Queries that are current, of an unknown version or malformed are left as they are,
and so are the queries whose upgrade needs a code system that the setting QUERY_UPGRADE_CODE_SYSTEMS does not
configure: with nothing configured this migration only upgrades the queries that need no code-system URL.
Queries left unchanged are logged; `manage.py upgrade_queries` upgrades them once the systems are configured.
"""

import logging

from django.db import migrations
from django.db.models import Max

from cohort.query_versions import Outcome, upgrade_serialized_query
from cohort.query_versions.rows import in_pages

_logger = logging.getLogger("info")


def upgrade_stored_queries(apps, schema_editor):
    snapshot_model = apps.get_model("cohort", "RequestQuerySnapshot")
    patch_model = apps.get_model("cohort", "RequestQuerySnapshotPatch")
    for snapshot in in_pages(snapshot_model._base_manager.only("pk", "serialized_query")):
        result = upgrade_serialized_query(snapshot.serialized_query)
        if result.outcome is Outcome.FAILED:
            _logger.warning("Query snapshot %s left unchanged: %s", snapshot.pk, result.reason)
        if result.outcome is not Outcome.UPGRADED:
            continue
        last = patch_model.objects.filter(snapshot_id=snapshot.pk).aggregate(last=Max("patch_version"))["last"] or 0
        patch_model.objects.create(
            snapshot_id=snapshot.pk,
            snapshot_uuid=str(snapshot.pk),
            patch_version=last + 1,
            serialized_query=snapshot.serialized_query,
        )
        snapshot_model._base_manager.filter(pk=snapshot.pk).update(serialized_query=result.text)


class Migration(migrations.Migration):
    dependencies = [("cohort", "0001_initial")]

    operations = [migrations.RunPython(upgrade_stored_queries, migrations.RunPython.noop, elidable=True)]
