from django.apps import AppConfig


class CohortJobServerConfig(AppConfig):
    name = "cohort_job_server"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from cohort.job_server import register_job_server
        from cohort_job_server.server import QueryExecutorJobServer

        register_job_server(QueryExecutorJobServer())
