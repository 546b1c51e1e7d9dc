"""Portal tasks: moving buffered link openings from Redis to the messages."""

from celery import shared_task

from portal import services


@shared_task
def flush_link_opens() -> int:
    return services.link_opens_flush()
