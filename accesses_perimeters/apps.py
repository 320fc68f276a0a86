from django.apps import AppConfig


class AccessesPerimetersConfig(AppConfig):
    """Periodic sync of the perimeter tree from the OMOP database (optional: it needs a second database).

    No `url_prefix`: the app has no routes, only the task `accesses_perimeters.tasks.perimeters_daily_update`.
    """

    name = "accesses_perimeters"
    verbose_name = "Perimeter synchronisation from OMOP"
