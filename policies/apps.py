from django.apps import AppConfig
from django.db.models.signals import post_migrate


class PoliciesConfig(AppConfig):
    name = "policies"
    verbose_name = "政策"

    def ready(self) -> None:
        from policies.roles import ensure_roles

        # Permissions exist only after migrate has run for every app, so roles are synced then.
        post_migrate.connect(ensure_roles, dispatch_uid="policies.ensure_roles")
