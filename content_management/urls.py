from rest_framework.routers import DefaultRouter

from content_management.views import ContentViewSet

router = DefaultRouter()
router.register("contents", ContentViewSet, basename="contents")

urlpatterns = router.urls
