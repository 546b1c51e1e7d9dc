"""The Celery application: configuration comes from Django settings (``CELERY_*``)."""

import logging
import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.import_modules.connect
def require_services(**kwargs) -> None:
    """A worker or beat without DATABASE_URL / REDIS_URL outside development stops with the reason. Celery
    sends this signal as either starts, before any connection, and unlike its other signals an exception
    raised here stops the start."""
    from portal.checks import require_services

    require_services()


@signals.worker_init.connect
def warm_matching_index(**kwargs) -> None:
    """Build the matching index once in the parent, before the pool forks: every child starts with it, so
    the first push after a restart does not wait for it. Connections are closed so no child shares them."""
    from django.db import DatabaseError, connections
    from redis.exceptions import RedisError

    from matching.index import get_index

    try:
        get_index()
    except (DatabaseError, RedisError) as exc:  # the first audience query will build it instead
        logging.getLogger(__name__).warning("匹配索引预热失败：%s", exc)
    connections.close_all()


@signals.task_prerun.connect
@signals.task_postrun.connect
def recycle_old_connections(sender=None, **kwargs) -> None:
    """Connections live across tasks as they do across requests: dropped when broken or older than
    CONN_MAX_AGE, checked before first use (CONN_HEALTH_CHECKS). Celery's own fixup would close them
    after every task (CELERY_DB_REUSE_MAX in settings stops that), and a new PostgreSQL backend per
    task costs a fork and a cold catalogue cache: about a tenth of a city push's time."""
    from django.db import close_old_connections

    if not getattr(sender.request, "is_eager", False):  # an eager task runs inside its caller's transaction
        close_old_connections()
