from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "门户"

    def ready(self) -> None:
        from portal import checks  # noqa: F401  (registers the "services configured" check)
        from portal.roles import ensure_roles

        # Permissions exist only after migrate has run for every app, so roles are synced then.
        post_migrate.connect(ensure_roles, dispatch_uid="portal.ensure_roles")
