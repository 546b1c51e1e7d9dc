"""Reads for the enterprise portal: the policies behind a link, a firm's own package page, related policies.

A firm only ever sees its own records: every function takes the firm (or its link) and filters by it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Value
from django.utils import timezone

from core import changes
from core.models import Region
from enterprises.industries import industry_label
from enterprises.models import Enterprise, EnterpriseTag, PortraitTag
from matching import selectors as matching
from notifications.links import LinkVisit
from notifications.models import Message
from policies import selectors as policy_selectors
from policies.models import Department, Level, Policy, PolicyLabel, PolicyLabelCategory, Window
from portal.models import LabelSubscription, PolicyRating, PolicyReaction, TagCorrection


@dataclass
class PolicyCard:
    """One policy as a firm sees it in its package: the policy, why it qualifies, what it has said."""

    policy: Policy
    reasons: list = field(default_factory=list)
    reaction: str = ""
    ratings: list[PolicyRating] = field(default_factory=list)

    @property
    def reason_summary(self) -> str:
        """Why it qualifies in one line, for the folded card: the first conditions met, and how many more."""
        met = [r.description for r in self.reasons if not r.is_group and r.state == "满足"]
        if not met:
            return "面向全部企业，没有附加条件"
        more = f"等 {len(met)} 项" if len(met) > 2 else ""
        return "；".join(met[:2]) + more


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
class PackageGroup:
    """Policies of the package in one window state, in the order the page shows them."""

    key: str  # open / upcoming / closed
    title: str
    cards: list[PolicyCard]


@dataclass
class LabelGroup:
    category: str
    labels: list[PolicyLabel]
    subscribed: int  # how many of them the firm follows
    matched: bool = True  # holds a label the search asked for


@dataclass
class RegisterFact:
    """A register fact the firm may dispute, as its page shows it."""

    field: str
    label: str
    words: str


@dataclass
class MyPackage:
    cards: list[PolicyCard]
    groups: list[PackageGroup]
    near_misses: list
    deadlines: list[PolicyCard]
    pushes: list[Message]
    subscribed: set[int]
    label_groups: list[LabelGroup]
    label_query: str
    tags: list[dict]
    claimable: list[PortraitTag]
    facts: list[RegisterFact]
    corrections: list[TagCorrection]
    ratings: list[PolicyRating]


# The package's one order: open for application first, by the nearest deadline (open-ended ones after
# those with a deadline), then those not yet open, by deadline too, then any that have closed.
PACKAGE_GROUPS = [
    (Window.OPEN, "可以申报"),
    (Window.UPCOMING, "即将开始申报"),
    (Window.CLOSED, "已截止"),
]


def _package_order(cards: list[PolicyCard], on: datetime.date) -> list[PackageGroup]:
    def deadline(card: PolicyCard) -> int:
        end = card.policy.apply_end
        return end.toordinal() if end else datetime.date.max.toordinal()

    ranked = sorted(cards, key=deadline)  # stable: matching's own ranking breaks ties
    groups = []
    for key, title in PACKAGE_GROUPS:
        chosen = [c for c in ranked if c.policy.window(on) == key]
        if chosen:
            groups.append(PackageGroup(key, title, chosen))
    return groups


def subscription_groups(*, subscribed: set[int], query: str = "") -> list[LabelGroup]:
    """The policy labels by category, with how many the firm follows; ``query`` (a few characters of a label or
    category name) marks the groups and labels that match, for the page without JavaScript."""
    query = query.strip()
    groups: dict[str, LabelGroup] = {}
    for label in PolicyLabel.objects.filter(is_active=True).select_related("category"):
        group = groups.setdefault(label.category.name, LabelGroup(label.category.name, [], 0, not query))
        label.matches = not query or query in label.name or query in label.category.name
        group.labels.append(label)
        group.subscribed += label.pk in subscribed
        group.matched = group.matched or label.matches
    return list(groups.values())


def enterprise_field_words(*, enterprise: Enterprise, field: str) -> str:
    """A register fact as the firm reads it on its page: 新吴区, 小型, C39 计算机、通信和其他电子设备制造业."""
    if field == TagCorrection.Field.REGION:
        return enterprise.region.name if enterprise.region_id else "未登记"
    if field == TagCorrection.Field.SIZE_CLASS:
        return enterprise.get_size_class_display() or "未登记"
    if field == TagCorrection.Field.INDUSTRY:
        return industry_label(enterprise.industry) if enterprise.industry else "未登记"
    if field == TagCorrection.Field.FOUNDED_ON:
        return f"{enterprise.founded_on:%Y-%m-%d}" if enterprise.founded_on else "未登记"
    return ""


def register_facts(*, enterprise: Enterprise) -> list[RegisterFact]:
    return [
        RegisterFact(value, label, enterprise_field_words(enterprise=enterprise, field=value))
        for value, label in TagCorrection.Field.choices
    ]


def my_package(*, enterprise: Enterprise, soon_days: int = 30, label_query: str = "") -> MyPackage:
    """Everything on a signed-in firm's page: its package in one order, near-misses, deadlines, pushes,
    subscriptions, profile and what it may ask to correct."""
    today = timezone.localdate()
    subscribed = set(LabelSubscription.objects.filter(enterprise=enterprise).values_list("label_id", flat=True))
    items = matching.package_for_enterprise(enterprise_id=enterprise.pk, subscribed_labels=frozenset(subscribed))
    by_id = policy_selectors.policy_list().in_bulk([i.policy.id for i in items])
    policies = [by_id[i.policy.id] for i in items if i.policy.id in by_id]
    groups = _package_order(_cards(enterprise.pk, policies, {i.policy.id: i.reasons for i in items}), today)
    cards = [card for group in groups for card in group.cards]
    soon = today + datetime.timedelta(days=soon_days)
    deadlines = sorted(
        (c for c in cards if c.policy.apply_end and today <= c.policy.apply_end <= soon),
        key=lambda c: c.policy.apply_end,
    )
    pushes = list(Message.objects.filter(enterprise=enterprise).select_related("campaign").order_by("-created_at")[:20])
    tags = firm_tags(enterprise=enterprise)
    held = {row["tag"].pk for row in tags}
    return MyPackage(
        cards=cards,
        groups=groups,
        near_misses=matching.near_misses_for_enterprise(enterprise_id=enterprise.pk)[:10],
        deadlines=deadlines,
        pushes=pushes,
        subscribed=subscribed,
        label_groups=subscription_groups(subscribed=subscribed, query=label_query),
        label_query=label_query.strip(),
        tags=tags,
        claimable=[
            tag
            for tag in PortraitTag.objects.filter(kind=PortraitTag.Kind.QUALIFICATION, is_active=True).select_related(
                "category"
            )
            if tag.pk not in held
        ],
        facts=register_facts(enterprise=enterprise),
        corrections=list(TagCorrection.objects.filter(enterprise=enterprise).select_related("tag")[:20]),
        ratings=list(PolicyRating.objects.filter(enterprise=enterprise).select_related("policy")[:20]),
    )


def firm_tags(*, enterprise: Enterprise) -> list[dict]:
    """The firm's portrait tags and where each came from (file, staff, certificate, correction, rules). Every
    one can be disputed: one derived from the register is disputed through the register fact behind it."""
    rows = [
        {
            "tag": link.tag,
            "source": link.get_source_display(),
            "since": link.created_at,
            "certificate": link.certificate_no,
            "valid_until": link.valid_until,
            "derived": False,
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
                "derived": True,
            }
        )
    return sorted(rows, key=lambda r: (r["tag"].category.sort_order, r["tag"].code))


def related_policies(*, policy: Policy, limit: int = 5) -> list[Policy]:
    """Published policies sharing the most labels with this one, those still open for application first."""
    label_ids = [label.pk for label in policy.labels.all()]
    return list(
        policy_selectors.policies_open_first(
            policy_selectors.policy_list()
            .filter(labels__in=label_ids)
            .exclude(pk=policy.pk)
            .annotate(shared=Count("labels")),
            "-shared",
            "-published_at",
        )[:limit]
    )


def policy_fit(*, enterprise_id: int, policy: Policy) -> matching.Explanation | None:
    """Whether the signed-in enterprise qualifies for this policy, and the conditions it meets or not;
    None when the enterprise is no longer in the register."""
    try:
        return matching.explain_match(enterprise_id=enterprise_id, policy=policy)
    except KeyError:
        return None


# --- the browse page's pickers -------------------------------------------------------------------------------


@dataclass
class BrowseChoices:
    """Names to pick filters by, in place of codes: labels grouped by category, categories, departments
    grouped by level, regions. Values are the stable codes; the filters take names too."""

    label_groups: list[tuple[str, list[tuple[str, str]]]]
    categories: list[tuple[str, str]]
    department_groups: list[tuple[str, list[tuple[str, str]]]]
    regions: list[tuple[str, str]]

    def name_of(self, field: str, value: str) -> str:
        """The name to show for a filter's value (a code or already a name)."""
        options = {
            "label": [pair for _, group in self.label_groups for pair in group],
            "label_category": self.categories,
            "department": [pair for _, group in self.department_groups for pair in group],
            "region": self.regions,
        }[field]
        return dict(options).get(value, value)


def browse_choices() -> BrowseChoices:
    labels: dict[str, list[tuple[str, str]]] = {}
    for code, name, category in PolicyLabel.objects.filter(is_active=True).values_list(
        "code", "name", "category__name"
    ):
        labels.setdefault(category, []).append((code, name))
    departments: dict[str, list[tuple[str, str]]] = {}
    for department in Department.objects.order_by("level", "code"):
        departments.setdefault(department.get_level_display(), []).append((department.code, department.name))
    level_order = [label for _, label in Level.choices]
    return BrowseChoices(
        label_groups=list(labels.items()),
        categories=list(PolicyLabelCategory.objects.values_list("code", "name")),
        department_groups=sorted(departments.items(), key=lambda item: level_order.index(item[0])),
        regions=list(Region.objects.values_list("code", "name")),
    )
