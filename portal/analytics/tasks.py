"""Dashboard tasks (beat): keep the rollups fresh and send the daily supervision digest. Each is safe to run
twice and with several workers (advisory locks, unique rows); queues are routed in settings."""

from __future__ import annotations

from celery import shared_task

from portal.analytics.services import funnel


@shared_task(acks_late=True, soft_time_limit=120)
def refresh_funnels() -> int:
    """Every 30 s: roll up the pushes that are due (new and sending ones every time); returns how many."""
    return len(funnel.funnel_refresh_due())
