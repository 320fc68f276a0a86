from django.apps import AppConfig


class CohortConfig(AppConfig):
    name = "cohort"
    default_auto_field = "django.db.models.BigAutoField"
    url_prefix = "cohort/"

    def ready(self):
        from cohort import receivers  # noqa: F401 (connects to the accesses signals)
