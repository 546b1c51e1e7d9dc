from django.apps import AppConfig


class DevConfig(AppConfig):
    name = "portal.dev"
    label = "dev"
    verbose_name = "开发工具"

    def ready(self) -> None:
        from portal.dev import checks  # noqa: F401  (registers the "embedded servers started" check)
