from django.db import migrations, models


def mark_running_refreshes(apps, schema_editor):
    """The latest run of each schedule may still be running: its end must still be recorded."""
    schedules = apps.get_model("cohort", "RequestRefreshSchedule")
    measures = apps.get_model("cohort", "DatedMeasure")
    runs = schedules.objects.exclude(last_dated_measure=None).values("last_dated_measure")
    measures.objects.filter(pk__in=runs).update(scheduled_refresh=True)


class Migration(migrations.Migration):
    dependencies = [
        ("cohort", "0002_upgrade_stored_queries"),
    ]

    operations = [
        migrations.AddField(
            model_name="datedmeasure",
            name="scheduled_refresh",
            field=models.BooleanField(default=False),
        ),
        migrations.RunPython(mark_running_refreshes, migrations.RunPython.noop),
    ]
