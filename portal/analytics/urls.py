from django.urls import path

from portal.analytics import api

urlpatterns = [
    path("analytics/funnel/", api.FunnelView.as_view(), name="analytics-funnel"),
]
