from rest_framework.routers import DefaultRouter

from accesses.views.accesses import AccessViewSet
from accesses.views.perimeters import PerimeterViewSet
from accesses.views.profiles import ProfileViewSet
from accesses.views.roles import RightViewSet, RoleViewSet

router = DefaultRouter()
router.register("accesses", AccessViewSet, basename="accesses")
router.register("roles", RoleViewSet, basename="roles")
router.register("rights", RightViewSet, basename="rights")
router.register("perimeters", PerimeterViewSet, basename="perimeters")
router.register("profiles", ProfileViewSet, basename="profiles")

urlpatterns = router.urls
