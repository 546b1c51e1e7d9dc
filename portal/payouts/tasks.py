"""兑现 tasks: thin, safe to run twice."""

from __future__ import annotations

from celery import shared_task

from portal.payouts import notices


@shared_task
def remind_unanswered() -> int:
    """Daily: the one 意愿确认 reminder for rounds whose deadline is near."""
    return notices.rounds_remind()


@shared_task
def notify_application_changes() -> int:
    """Every half hour: an SMS to each firm whose application reached a state worth telling."""
    return len(notices.applications_notify())
