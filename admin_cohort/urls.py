from __future__ import annotations

from django.apps import apps
from django.conf import settings
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from admin_cohort.auth.views import LoginView, LogoutView, RefreshView, not_found_root
from admin_cohort.views.cache_admin import CacheAdminView
from admin_cohort.views.maintenance import MaintenancePhaseViewSet
from admin_cohort.views.release_notes import ReleaseNoteViewSet
from admin_cohort.views.request_logs import RequestLogViewSet
from admin_cohort.views.users import UserViewSet

router = SimpleRouter()
router.register("maintenances", MaintenancePhaseViewSet, basename="maintenances")
router.register("users", UserViewSet, basename="users")
router.register("logs", RequestLogViewSet, basename="logs")
router.register("release-notes", ReleaseNoteViewSet, basename="release-notes")

urlpatterns = [
    re_path(r"^$", not_found_root),
    re_path(r"^auth/login/", LoginView.as_view(), name="login"),
    path("auth/refresh/", RefreshView.as_view(), name="refresh"),
    path("auth/logout/", LogoutView.as_view(), name="logout"),
    re_path(r"^cache", CacheAdminView.as_view(), name="cache"),
    path("schema", SpectacularAPIView.as_view(), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path(
        "redoc/", SpectacularRedocView.as_view(url_name="schema", template_name="admin_cohort/redoc.html"), name="redoc"
    ),
    *router.urls,
]

# Feature apps mount their routes under the prefix declared on their AppConfig (`url_prefix`).
for app_label in settings.INCLUDED_APPS:
    config = apps.get_app_config(app_label)
    prefix = getattr(config, "url_prefix", None)
    if prefix is not None:
        urlpatterns.append(path(prefix, include(f"{config.name}.urls")))
