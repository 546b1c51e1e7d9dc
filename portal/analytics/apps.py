from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    """数据看板: the staff dashboard, its rollups, the supervision lights and the analytics API."""

    name = "portal.analytics"
    label = "analytics"
    verbose_name = "数据看板与督办"
