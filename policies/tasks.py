from celery import shared_task

from policies.services import policy_expire_due


@shared_task
def expire_policies() -> int:
    """Daily: published policies whose validity has ended become expired."""
    return policy_expire_due()
