"""Push tasks. Each takes ids, re-checks state and is safe to run twice; queues are routed in settings."""

from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from notifications import dispatch, links, receipts, services
from notifications.models import Campaign, Message


@shared_task(acks_late=True)
def plan_campaign(campaign_id: int) -> int:
    """Write the campaign's messages, then queue its chunks (the watchdog starts them after quiet hours)."""
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None or campaign.status not in {Campaign.Status.PLANNING, Campaign.Status.SENDING}:
        return 0
    dispatch.mark_progress(campaign_id)
    if campaign.status == Campaign.Status.SENDING:  # planned already: a lost queue is being resumed
        queue_chunks(campaign_id)
        return 0

    def slice_written(first_id: int, last_id: int) -> None:
        queue_chunks(campaign_id, id_range=(first_id, last_id))

    resumed = Message.objects.filter(campaign_id=campaign_id).exists()  # an earlier run stopped part-way
    written = services.campaign_plan(campaign=campaign, on_slice=slice_written)
    if resumed:
        queue_chunks(campaign_id)  # what that run wrote but may not have queued
    return written


def queue_chunks(campaign_id: int, id_range: tuple[int, int] | None = None) -> int:
    """One send task per chunk of unsent messages (within ``id_range`` when given); none in quiet hours."""
    if dispatch.quiet_until() is not None:
        return 0
    chunks = dispatch.campaign_chunks(campaign_id=campaign_id, id_range=id_range)
    for first_id, last_id in chunks:
        send_chunk.delay(campaign_id, first_id, last_id)
    dispatch.mark_progress(campaign_id)
    return len(chunks)


@shared_task(acks_late=True, bind=True, max_retries=dispatch.MAX_ATTEMPTS)
def send_chunk(self, campaign_id: int, first_id: int, last_id: int) -> dict:
    counts = dispatch.send_chunk(campaign_id=campaign_id, first_id=first_id, last_id=last_id)
    if counts.get("temporary"):
        # Temporary failures went back to created; try the chunk again later, with backoff.
        raise self.retry(countdown=min(2**self.request.retries * 2, 300))
    return dict(counts)


@shared_task
def watchdog() -> dict:
    """Every minute (beat): start scheduled pushes, reconcile stuck messages, resume stalled campaigns
    (a lost queue, a killed worker, the end of quiet hours) and close finished ones."""
    report = dict(dispatch.reconcile_stuck())
    now = timezone.now()
    for campaign in Campaign.objects.filter(status=Campaign.Status.SCHEDULED, scheduled_at__lte=now):
        services.campaign_start(campaign=campaign)
        report["started"] = report.get("started", 0) + 1
    if dispatch.quiet_until() is None:
        for campaign_id, status in Campaign.objects.filter(
            status__in=[Campaign.Status.PLANNING, Campaign.Status.SENDING]
        ).values_list("pk", "status"):
            beat = dispatch.last_progress(campaign_id)
            if beat is not None and beat > now.timestamp() - dispatch.stuck_after().total_seconds():
                continue
            if status == Campaign.Status.PLANNING:
                plan_campaign.delay(campaign_id)
            elif Message.objects.filter(campaign_id=campaign_id, status=Message.Status.CREATED).exists():
                queue_chunks(campaign_id)  # sending only takes created messages, so a repeat is harmless
            else:
                continue
            dispatch.mark_progress(campaign_id)
            report["resumed"] = report.get("resumed", 0) + 1
    report["completed"] = dispatch.close_finished()
    return report


@shared_task(acks_late=True)
def record_receipts(items: list[dict]) -> int:
    """Receipts queued by the webhook (the vendor gets its answer at once); repeats change nothing."""
    return receipts.receipts_record(receipts=receipts.receipts_from_json(items))


@shared_task
def flush_link_opens() -> int:
    """Every 30 s (beat): buffered link openings to their messages."""
    return links.link_opens_flush()
