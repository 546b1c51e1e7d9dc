from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from portal import views

admin.site.site_header = "惠企直达 · 管理后台"
admin.site.site_title = "惠企直达"
admin.site.index_title = "政策发布与推送管理"

portal_patterns = [
    path("", views.home, name="home"),
    path("policies/<int:pk>/", views.policy_detail, name="policy-detail"),
]

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    path("healthz", views.healthz, name="healthz"),
    path("", include("notifications.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("policies.urls")),
    path("api/", include("enterprises.urls")),
    path("api/", include("matching.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
]
