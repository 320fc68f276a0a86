from rest_framework.routers import SimpleRouter

from exports.views.datalabs import DatalabViewSet, InfrastructureProviderViewSet
from exports.views.exports import ExportViewSet
from exports.views.helper_lists import ExportableCohortViewSet, ExportableFhirFilterViewSet
from exports.views.stats import ExportResultStatViewSet

router = SimpleRouter()
router.register("cohorts", ExportableCohortViewSet, basename="export-cohorts")
router.register("fhir-filters", ExportableFhirFilterViewSet, basename="export-fhir-filters")
router.register("datalabs", DatalabViewSet, basename="datalabs")
router.register("infrastructure-providers", InfrastructureProviderViewSet, basename="infrastructure-providers")
router.register("export-stats", ExportResultStatViewSet, basename="export-stats")
# The exports themselves are the app's root collection (`/exports/`, `/exports/{uuid}/`).
router.register("", ExportViewSet, basename="exports")

urlpatterns = router.urls
