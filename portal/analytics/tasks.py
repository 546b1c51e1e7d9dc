"""Dashboard tasks (beat): keep the rollups fresh and send the daily supervision digest. Each is safe to run
twice and with several workers (advisory locks, unique rows); queues are routed in settings."""

from __future__ import annotations

from celery import shared_task

from portal.analytics.services import digest, funnel


@shared_task(acks_late=True, soft_time_limit=120)
def refresh_funnels() -> int:
    """Every 30 s: roll up the pushes that are due (new and sending ones every time); returns how many."""
    return len(funnel.funnel_refresh_due())


@shared_task(acks_late=True)
def send_digests() -> int:
    """Working days, 08:30: the supervision digest of each owner with open items; returns digests made."""
    return len(digest.digest_send())
