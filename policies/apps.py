from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_save


def _policies_changed(**kwargs) -> None:
    from core.changes import policies_changed_on_commit

    policies_changed_on_commit()


class PoliciesConfig(AppConfig):
    name = "policies"
    verbose_name = "政策"

    def ready(self) -> None:
        from core.scope import set_district_resolver
        from policies.models import Policy
        from policies.scope import staff_district_id

        # Staff scopes live here; the register's admin, one layer down, asks core.scope for the district.
        set_district_resolver(staff_district_id)

        # The one way policy changes are announced (core/changes.py): every write of a policy goes through
        # save, delete or its labels' m2m — services save row by row, so even expiry sends these signals.
        post_save.connect(_policies_changed, sender=Policy, dispatch_uid="policies.changed.saved")
        post_delete.connect(_policies_changed, sender=Policy, dispatch_uid="policies.changed.deleted")
        m2m_changed.connect(_policies_changed, sender=Policy.labels.through, dispatch_uid="policies.changed.labels")
