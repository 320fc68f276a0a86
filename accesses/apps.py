from django.apps import AppConfig


class AccessesConfig(AppConfig):
    name = "accesses"
    default_auto_field = "django.db.models.BigAutoField"
    url_prefix = "accesses/"

    def ready(self):
        from accesses.impersonation import impersonate
        from accesses.rights_provider import AccessesRightsProvider
        from admin_cohort.plugins import register_post_auth_hook, register_rights_provider
        from admin_cohort.response_cache import register_rights_models

        register_rights_provider(AccessesRightsProvider())
        register_post_auth_hook(impersonate)
        register_rights_models("accesses.Access", "accesses.Role", "accesses.Profile", "accesses.Perimeter")
