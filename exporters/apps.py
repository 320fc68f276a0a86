from django.apps import AppConfig


class ExportersConfig(AppConfig):
    name = "exporters"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from exporters.engine import ApiExportEngine
        from exports.engine import register_export_engine

        register_export_engine(ApiExportEngine())
