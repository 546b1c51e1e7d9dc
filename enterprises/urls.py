from rest_framework.routers import SimpleRouter

from enterprises import api

router = SimpleRouter()
router.register("portrait-tags", api.PortraitTagViewSet, basename="portrait-tag")
router.register("enterprises", api.EnterpriseViewSet, basename="enterprise")

urlpatterns = router.urls
