"""Push tasks. Each takes ids, re-checks state and is safe to run twice; queues are routed in settings."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from notifications import dispatch, services
from notifications.models import Campaign, Message


@shared_task(acks_late=True)
def plan_campaign(campaign_id: int) -> int:
    """Write the campaign's messages, then queue its chunks (at 08:00 if it is quiet time now)."""
    campaign = Campaign.objects.get(pk=campaign_id)
    if campaign.status == Campaign.Status.CANCELLED:
        return 0
    written = services.campaign_plan(campaign=campaign)
    Campaign.objects.filter(pk=campaign_id, status=Campaign.Status.PLANNING).update(status=Campaign.Status.SENDING)
    queue_chunks(campaign_id)
    return written


def queue_chunks(campaign_id: int) -> int:
    eta = dispatch.quiet_until()
    chunks = dispatch.campaign_chunks(campaign_id=campaign_id)
    for first_id, last_id in chunks:
        send_chunk.apply_async((campaign_id, first_id, last_id), eta=eta)
    return len(chunks)


@shared_task(acks_late=True, bind=True, max_retries=dispatch.MAX_ATTEMPTS)
def send_chunk(self, campaign_id: int, first_id: int, last_id: int) -> dict:
    counts = dispatch.send_chunk(campaign_id=campaign_id, first_id=first_id, last_id=last_id)
    if counts.get("temporary"):
        # Temporary failures went back to created; try the chunk again later, with backoff.
        raise self.retry(countdown=min(2**self.request.retries * 5, 300))
    return dict(counts)


@shared_task
def watchdog() -> dict:
    """Every minute: reconcile stuck messages, resume campaigns with unsent messages, close finished ones."""
    report = dispatch.watchdog()
    if dispatch.quiet_until() is None:
        stalled = Campaign.objects.filter(
            status=Campaign.Status.SENDING,
            messages__status=Message.Status.CREATED,
            messages__created_at__lt=timezone.now() - dispatch.STUCK_AFTER,
        ).distinct()
        for campaign_id in stalled.values_list("pk", flat=True):
            queue_chunks(campaign_id)  # sending only takes created messages, so a repeat is harmless
            report["resumed"] = report.get("resumed", 0) + 1
    return report
