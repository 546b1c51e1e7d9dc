"""Reads for the enterprise portal: the policies behind a link, a firm's own package page, related policies.

A firm only ever sees its own records: every function takes the firm (or its link) and filters by it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Value
from django.utils import timezone

from core import changes
from enterprises.models import Enterprise, EnterpriseTag, PortraitTag
from matching import selectors as matching
from notifications.links import LinkVisit
from notifications.models import Message
from policies import selectors as policy_selectors
from policies.models import Policy, PolicyLabel
from portal.models import LabelSubscription, PolicyRating, PolicyReaction, TagCorrection


@dataclass
class PolicyCard:
    """One policy as a firm sees it in its package: the policy, why it qualifies, what it has said."""

    policy: Policy
    reasons: list = field(default_factory=list)
    reaction: str = ""
    ratings: list[PolicyRating] = field(default_factory=list)


_published: dict = {"generation": None, "by_id": {}}


def published_policies(ids: list[int], generation: int | None = None) -> list[Policy]:
    """Published policies with what their cards show, from a per-process cache that any policy change
    empties (the policies' generation, read here unless the caller just did): after a push a million
    link pages name the same few policies. Without Redis they are read from PostgreSQL each time."""
    if generation is None:
        generation = changes.current_generation_if_known(changes.POLICIES)
    if generation is None:  # Redis unreachable: from PostgreSQL, cached nowhere
        found = policy_selectors.policy_list().in_bulk(ids)
        return [found[pk] for pk in ids if pk in found]
    if _published["generation"] != generation:
        _published.update(generation=generation, by_id={})
    by_id = _published["by_id"]
    missing = [pk for pk in ids if pk not in by_id]
    if missing:
        found = policy_selectors.policy_list().in_bulk(missing)
        by_id.update({pk: found.get(pk) for pk in missing})  # None: withdrawn or unknown
    return [by_id[pk] for pk in ids if by_id[pk] is not None]


def reset_caches() -> None:
    """Forget this process's cached policies (tests, whose writes never commit and so never announce)."""
    _published.update(generation=None, by_id={})


def _cards(enterprise_id: int, policies: list[Policy], reasons: dict[int, list]) -> list[PolicyCard]:
    ids = [p.pk for p in policies]
    # What the firm said about these policies, reactions and ratings in one query.
    said = (
        PolicyReaction.objects.filter(enterprise_id=enterprise_id, policy_id__in=ids)
        .values_list("policy_id", "kind", Value(0))
        .union(
            PolicyRating.objects.filter(enterprise_id=enterprise_id, policy_id__in=ids).values_list(
                "policy_id", Value(""), "pk"
            ),
            all=True,
        )
    )
    reactions, rating_ids = {}, []
    for policy_id, kind, rating_id in said:
        if rating_id:
            rating_ids.append(rating_id)
        else:
            reactions[policy_id] = kind
    ratings: dict[int, list[PolicyRating]] = {}
    for rating in PolicyRating.objects.filter(pk__in=rating_ids) if rating_ids else []:
        ratings.setdefault(rating.policy_id, []).append(rating)
    return [PolicyCard(p, reasons.get(p.pk, []), reactions.get(p.pk, ""), ratings.get(p.pk, [])) for p in policies]


# Whether the firm has reacted to or rated one of a message ``m``'s policies: what the link lookup asks the
# portal (notifications.links.link_visit's feedback_sql), in the same round trip.
LINK_FEEDBACK_SQL = f"""EXISTS (SELECT 1 FROM {PolicyReaction._meta.db_table} x
               WHERE x.enterprise_id = m.enterprise_id AND x.policy_id = ANY(m.policy_ids))
       OR EXISTS (SELECT 1 FROM {PolicyRating._meta.db_table} x
                  WHERE x.enterprise_id = m.enterprise_id AND x.policy_id = ANY(m.policy_ids))"""


def link_bundle(*, visit: LinkVisit, generation: int | None = None) -> list[PolicyCard]:
    """The policies of one SMS, in the order the SMS named them, each with why this firm qualifies and
    what the firm said about it (looked up only when the visit found it has said something)."""
    policies = published_policies(visit.policy_ids, generation)  # withdrawn ones drop out
    reasons = matching.explain_policies(facts=visit.facts, policies=policies, generation=generation)
    if not visit.has_feedback:
        return [PolicyCard(p, reasons.get(p.pk, [])) for p in policies]
    return _cards(visit.enterprise_id, policies, reasons)


@dataclass
class MyPackage:
    cards: list[PolicyCard]
    near_misses: list
    deadlines: list[PolicyCard]
    pushes: list[Message]
    subscribed: set[int]
    labels: list[PolicyLabel]
    tags: list[dict]
    corrections: list[TagCorrection]
    ratings: list[PolicyRating]


def my_package(*, enterprise: Enterprise, soon_days: int = 30) -> MyPackage:
    """Everything on a signed-in firm's page: its ranked package, near-misses, deadlines, pushes, profile."""
    today = timezone.localdate()
    subscribed = set(LabelSubscription.objects.filter(enterprise=enterprise).values_list("label_id", flat=True))
    items = matching.package_for_enterprise(enterprise_id=enterprise.pk, subscribed_labels=frozenset(subscribed))
    by_id = policy_selectors.policy_list().in_bulk([i.policy.id for i in items])
    policies = [by_id[i.policy.id] for i in items if i.policy.id in by_id]
    cards = _cards(enterprise.pk, policies, {i.policy.id: i.reasons for i in items})
    soon = today + datetime.timedelta(days=soon_days)
    deadlines = sorted(
        (c for c in cards if c.policy.apply_end and today <= c.policy.apply_end <= soon),
        key=lambda c: c.policy.apply_end,
    )
    pushes = list(Message.objects.filter(enterprise=enterprise).select_related("campaign").order_by("-created_at")[:20])
    return MyPackage(
        cards=cards,
        near_misses=matching.near_misses_for_enterprise(enterprise_id=enterprise.pk)[:10],
        deadlines=deadlines,
        pushes=pushes,
        subscribed=subscribed,
        labels=list(PolicyLabel.objects.filter(is_active=True).select_related("category")),
        tags=firm_tags(enterprise=enterprise),
        corrections=list(TagCorrection.objects.filter(enterprise=enterprise).select_related("tag")[:20]),
        ratings=list(PolicyRating.objects.filter(enterprise=enterprise).select_related("policy")[:20]),
    )


def firm_tags(*, enterprise: Enterprise) -> list[dict]:
    """The firm's portrait tags and where each came from (file, staff, certificate, correction, rules)."""
    rows = [
        {
            "tag": link.tag,
            "source": link.get_source_display(),
            "since": link.created_at,
            "certificate": link.certificate_no,
            "valid_until": link.valid_until,
            "disputable": True,
        }
        for link in EnterpriseTag.objects.filter(enterprise=enterprise).select_related("tag__category")
    ]
    for tag in PortraitTag.objects.filter(pk__in=enterprise.derived_tags or []).select_related("category"):
        rows.append(
            {
                "tag": tag,
                "source": "由登记信息推导",
                "since": enterprise.derived_at,
                "certificate": "",
                "valid_until": None,
                "disputable": False,
            }
        )
    return sorted(rows, key=lambda r: (r["tag"].category.sort_order, r["tag"].code))


def related_policies(*, policy: Policy, limit: int = 5) -> list[Policy]:
    """Published policies sharing the most labels with this one."""
    label_ids = [label.pk for label in policy.labels.all()]
    return list(
        policy_selectors.policy_list()
        .filter(labels__in=label_ids)
        .exclude(pk=policy.pk)
        .annotate(shared=Count("labels"))
        .order_by("-shared", "-published_at")[:limit]
    )
