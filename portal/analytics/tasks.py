"""Dashboard tasks (beat): keep the rollups fresh and send the daily supervision digest. Each is safe to run
twice and with several workers (advisory locks, unique rows); queues are routed in settings."""

from __future__ import annotations

from celery import shared_task

from portal.analytics.services import coverage, digest, funnel, register


@shared_task(acks_late=True, soft_time_limit=120)
def refresh_funnels() -> int:
    """Every 30 s: roll up the pushes that are due (new and sending ones every time); returns how many."""
    return len(funnel.funnel_refresh_due())


@shared_task(acks_late=True)
def send_digests() -> int:
    """Working days, 08:30: the supervision digest of each owner with open items; returns digests made."""
    return len(digest.digest_send())


@shared_task(acks_late=True, soft_time_limit=600)
def refresh_coverage() -> bool:
    """Every 10 minutes: policy coverage and data gaps, when the register or the policies changed (and daily)."""
    return coverage.coverage_refresh() is not None


@shared_task(acks_late=True, soft_time_limit=600)
def refresh_register() -> float:
    """Every 15 minutes: the register's headline and field gaps; returns the seconds it took."""
    return register.register_refresh().seconds
