from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from notifications.links import FIXED_LINK_PATH, LINK_PATH, TOKEN_LENGTH
from portal.analytics import urls as analytics_urls
from portal.payouts import urls as payout_urls
from portal.views import enterprise, link, public

admin.site.site_header = "惠企直达 · 管理后台"
admin.site.site_title = "惠企直达"
admin.site.index_title = "政策发布与推送管理"

TOKEN = rf"(?P<token>[A-Za-z0-9_-]{{{TOKEN_LENGTH}}})"
LINK = LINK_PATH.lstrip("/")
ACTION = r"(?P<action>react|rate)"

portal_patterns = [
    path("", public.home, name="home"),
    path("policies/", public.policy_browse, name="policy-browse"),
    path("policies/<int:pk>/", public.policy_detail, name="policy-detail"),
    re_path(rf"^{LINK}{TOKEN}$", link.package_link, name="link"),
    re_path(rf"^{LINK}{TOKEN}/policies/(?P<pk>\d+)/{ACTION}$", link.link_policy_action, name="link-action"),
    re_path(rf"^{LINK}{TOKEN}/unsubscribe$", link.link_unsubscribe, name="link-unsubscribe"),
    path(FIXED_LINK_PATH.lstrip("/"), enterprise.fixed_link, name="fixed-link"),
    path("login/", enterprise.login, name="login"),
    path("login/check.png", enterprise.login_check_picture, name="login-check"),
    path("logout/", enterprise.logout, name="logout"),
    path("my/", enterprise.my_package, name="my"),
    re_path(rf"^my/policies/(?P<pk>\d+)/{ACTION}$", enterprise.my_policy_action, name="my-action"),
    path("my/subscriptions", enterprise.my_subscriptions, name="my-subscriptions"),
    path("my/corrections", enterprise.my_correction, name="my-correction"),
    path("my/sms", enterprise.my_sms, name="my-sms"),
]

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    path("", include("portal.payouts.urls")),
    path("healthz", public.healthz, name="healthz"),
    path("", include("notifications.urls")),
    path("admin/", include(analytics_urls.page_patterns)),  # the dashboard is the admin's home page
    path("admin/", admin.site.urls),
    path("api/", include("policies.urls")),
    path("api/", include("enterprises.urls")),
    path("api/", include("matching.urls")),
    path("api/", include(analytics_urls.api_patterns)),
    path("api/", include((payout_urls.api_patterns, "payouts-api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
]

handler404 = "portal.views.public.page_not_found"
handler500 = "portal.views.public.server_error"
