from django.db import migrations


def load_catalogue(apps, schema_editor):
    # The catalogue module is the one source of the rows; a later change to it ships with its own migration.
    from accesses.catalogue import RIGHTS

    Right = apps.get_model("accesses", "Right")
    by_name = {}
    for row in RIGHTS:
        by_name[row.name], _ = Right.objects.update_or_create(
            name=row.name,
            defaults={
                "label": row.label,
                "category": row.category,
                "is_global": row.is_global,
                "allow_edit_accesses_on_same_level": row.allow_edit_accesses_on_same_level,
                "allow_edit_accesses_on_inf_levels": row.allow_edit_accesses_on_inf_levels,
                "impact_inferior_levels": row.impact_inferior_levels,
            },
        )
    for row in RIGHTS:
        if row.depends_on:
            right = by_name[row.name]
            right.depends_on = by_name[row.depends_on]
            right.save(update_fields=["depends_on"])


class Migration(migrations.Migration):
    dependencies = [("accesses", "0002_perimeter_closure_and_rights")]

    operations = [migrations.RunPython(load_catalogue, migrations.RunPython.noop)]
