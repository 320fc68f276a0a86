from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "exports"
    default_auto_field = "django.db.models.BigAutoField"
    url_prefix = "exports/"

    def ready(self):
        from exports import receivers  # noqa: F401 (follows the cohort subsets of exports)
