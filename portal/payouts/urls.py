"""兑现 URLs: the applications API (mounted under /api/), the firm's 意愿确认 pages and the 公示 pages."""

from django.urls import path, re_path

from notifications.links import LINK_PATH, TOKEN_LENGTH
from portal.payouts import api, views

app_name = "payouts"
TOKEN = rf"(?P<token>[A-Za-z0-9_-]{{{TOKEN_LENGTH}}})"
LINK = LINK_PATH.lstrip("/")

urlpatterns = [
    re_path(rf"^{LINK}{TOKEN}/payouts/(?P<pk>\d+)$", views.link_entry, name="link-entry"),
    path("my/payouts/<int:pk>", views.my_entry, name="my-entry"),
    path("gongshi/<int:pk>/", views.publicity_page, name="publicity"),
]
api_patterns = [path("applications/", api.ApplicationReportView.as_view(), name="applications-report")]
