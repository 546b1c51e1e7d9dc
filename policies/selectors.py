"""Reads for policies, shared by the admin, the API and the portal pages."""

from __future__ import annotations

import datetime

from django.db.models import Q, QuerySet

from policies.models import Policy


def window_q(state: str, day: datetime.date) -> Q:
    """Application-window state on ``day``: ``open``, ``upcoming`` or ``closed``."""
    started = Q(apply_start__isnull=True) | Q(apply_start__lte=day)
    not_ended = Q(apply_end__isnull=True) | Q(apply_end__gte=day)
    return {
        "open": started & not_ended,
        "upcoming": Q(apply_start__gt=day),
        "closed": Q(apply_end__lt=day),
    }[state]


def policy_list(*, include_unpublished: bool = False) -> QuerySet[Policy]:
    """Policies with what list pages show, in one query plus prefetches."""
    qs = Policy.objects.select_related("region").prefetch_related("departments", "labels__category")
    if not include_unpublished:
        qs = qs.filter(status=Policy.Status.PUBLISHED)
    return qs


def policy_detail(*, pk: int, include_unpublished: bool = False) -> Policy:
    return policy_list(include_unpublished=include_unpublished).prefetch_related("attachments").get(pk=pk)
