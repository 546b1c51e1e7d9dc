"""The analytics API (under /api/) and the dashboard's pages (under /admin/, before the admin's own URLs)."""

from django.contrib import admin
from django.urls import path

from portal.analytics import api, views

api_patterns = [
    path("analytics/funnel/", api.FunnelView.as_view(), name="analytics-funnel"),
    path("analytics/overdue/", api.OverdueView.as_view(), name="analytics-overdue"),
    path("analytics/coverage/", api.CoverageView.as_view(), name="analytics-coverage"),
]

page_patterns = [
    path("", admin.site.admin_view(views.dashboard), name="analytics-dashboard"),
    path("models/", admin.site.admin_view(views.model_index), name="analytics-models"),
    path("dashboard/export/<slug:table>.xlsx", admin.site.admin_view(views.export), name="analytics-export"),
    path("dashboard/uncovered/", admin.site.admin_view(views.uncovered), name="analytics-uncovered"),
]
