from django.apps import AppConfig


class AdminCohortConfig(AppConfig):
    name = "admin_cohort"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from admin_cohort import response_cache  # noqa: F401 (connects the invalidation signals)
