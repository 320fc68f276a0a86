from django.apps import AppConfig


class ContentManagementConfig(AppConfig):
    name = "content_management"
    default_auto_field = "django.db.models.BigAutoField"
    url_prefix = "webcontent/"
