from django.apps import AppConfig


class MatchingConfig(AppConfig):
    name = "matching"
    verbose_name = "政策匹配"

    def ready(self) -> None:
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from matching.freshness import announce_policies_on_commit
        from policies.models import Policy

        def policies_changed(**kwargs) -> None:
            announce_policies_on_commit()

        # Every way a policy can change (admin, services, bulk expiry) goes through save or m2m.
        post_save.connect(policies_changed, sender=Policy, dispatch_uid="matching.policy_saved")
        post_delete.connect(policies_changed, sender=Policy, dispatch_uid="matching.policy_deleted")
        m2m_changed.connect(policies_changed, sender=Policy.labels.through, dispatch_uid="matching.policy_labels")
