"""Reads for policies, shared by the admin, the API and the portal pages."""

from __future__ import annotations

import datetime

from django.db.models import Case, Count, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from policies.models import Policy, SearchSynonym, Window, deadline_passed_q, sent_back_q, split_expansions, window_q

# Where a policy's application window stands, as a number to sort by: open ones first, closed ones last.
WINDOW_RANK = {Window.OPEN: 0, Window.UPCOMING: 1, Window.CLOSED: 2}


def policy_list(*, include_unpublished: bool = False) -> QuerySet[Policy]:
    """Policies with what list pages show, in one query plus prefetches."""
    qs = Policy.objects.select_related("region").prefetch_related("departments", "labels__category")
    if not include_unpublished:
        qs = qs.filter(status=Policy.Status.PUBLISHED)
    return qs


def policy_detail(*, pk: int, include_unpublished: bool = False) -> Policy:
    return policy_list(include_unpublished=include_unpublished).prefetch_related("attachments").get(pk=pk)


def policy_review_counts(*, today: datetime.date) -> dict[str, int]:
    """What waits in the review workflow, in one query: submitted and waiting for a reviewer, sent back and
    waiting for an editor, and unpublished policies whose application deadline has already passed."""
    return Policy.objects.aggregate(
        pending=Count("pk", filter=Q(status=Policy.Status.PENDING)),
        sent_back=Count("pk", filter=sent_back_q()),
        deadline_passed=Count("pk", filter=deadline_passed_q(today)),
    )


def window_rank(on: datetime.date) -> Case:
    """0 open, 1 not yet open, 2 closed on ``on`` (``policies.models.window_q`` as a sort key)."""
    return Case(
        When(window_q(Window.CLOSED, on), then=Value(WINDOW_RANK[Window.CLOSED])),
        When(window_q(Window.UPCOMING, on), then=Value(WINDOW_RANK[Window.UPCOMING])),
        default=Value(WINDOW_RANK[Window.OPEN]),
        output_field=IntegerField(),
    )


def policies_open_first(queryset: QuerySet[Policy], *order, on: datetime.date | None = None) -> QuerySet[Policy]:
    """``queryset`` ordered open first, then not yet open, then closed; ``order`` within each."""
    if "window_rank" not in queryset.query.annotations:
        queryset = queryset.annotate(window_rank=window_rank(on or timezone.localdate()))
    return queryset.order_by("window_rank", *order)


def search_words(*, word: str) -> list[str]:
    """The word and what it stands for in the staff-edited synonym list (高企 → 高新技术企业); a search for an
    expansion finds the term and its other expansions too."""
    found = [word]
    rows = SearchSynonym.objects.filter(is_active=True).filter(Q(term=word) | Q(expansions__contains=word))
    for row in rows:
        group = [row.term, *split_expansions(row.expansions)]
        if word in group:
            found.extend(group)
    return list(dict.fromkeys(found))
