from rest_framework.routers import SimpleRouter

from policies import api

router = SimpleRouter()
router.register("policies", api.PolicyViewSet, basename="policy")
router.register("policy-labels", api.PolicyLabelViewSet, basename="policy-label")
router.register("departments", api.DepartmentViewSet, basename="department")
router.register("regions", api.RegionViewSet, basename="region")

urlpatterns = router.urls
