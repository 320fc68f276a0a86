from rest_framework.routers import DefaultRouter

from cohort.views.fhir_filters import FhirFilterViewSet
from cohort.views.jobs import CohortResultViewSet, DatedMeasureViewSet
from cohort.views.studies import FeasibilityStudyViewSet, RequestRefreshScheduleViewSet
from cohort.views.workspace import FolderViewSet, RequestQuerySnapshotViewSet, RequestViewSet

router = DefaultRouter()
router.register("folders", FolderViewSet, basename="folders")
router.register(r"folders/(?P<parent_folder>[^/.]+)/requests", RequestViewSet, basename="folder-requests")
router.register("requests", RequestViewSet, basename="requests")
router.register(
    r"requests/(?P<request_id>[^/.]+)/query-snapshots", RequestQuerySnapshotViewSet, basename="request-snapshots"
)
router.register("request-query-snapshots", RequestQuerySnapshotViewSet, basename="request-query-snapshots")
router.register(
    r"request-query-snapshots/(?P<previous_snapshot>[^/.]+)/next-snapshots",
    RequestQuerySnapshotViewSet,
    basename="next-snapshots",
)
router.register("dated-measures", DatedMeasureViewSet, basename="dated-measures")
router.register("cohorts", CohortResultViewSet, basename="cohorts")
router.register("fhir-filters", FhirFilterViewSet, basename="fhir-filters")
router.register("feasibility-studies", FeasibilityStudyViewSet, basename="feasibility-studies")
router.register("refresh-schedules", RequestRefreshScheduleViewSet, basename="refresh-schedules")

urlpatterns = router.urls
