"""Demo 兑现: one 免申即享 round in 公示 (most firms confirmed with a made-up account, a few declined or
silent), and tracked applications of ordinary policies reported by a department's integration account."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from django.contrib.auth.models import Group, Permission, User
from django.db import transaction
from django.utils import timezone

from matching.index import get_index
from notifications.models import SmsTemplate
from policies.models import Policy
from portal.payouts import applications, publicity, services
from portal.payouts.crypto import encrypt
from portal.payouts.models import ApplicationReporter, PayoutEntry, PayoutRound, PayoutStandard
from portal.roles import PAYOUT_APPROVER, PAYOUT_OFFICER

NOTICE_BODY = "{企业简称}：您可免申享受“{政策简称}”，请点击 {link} 确认领取并核对收款账户。"
PROGRESS_BODY = "{企业简称}：您申报的“{政策简称}”办理进度有更新，详情请点击 {link} 查看。"
BANKS = ["中国工商银行无锡分行", "中国农业银行无锡新吴支行", "中国银行无锡分行", "中国建设银行无锡滨湖支行",
         "江苏银行无锡分行", "无锡农村商业银行"]  # fmt: skip


def _staff(username: str, role: str) -> User:
    user, _ = User.objects.get_or_create(username=username, defaults={"is_staff": True})
    user.groups.add(Group.objects.get(name=role))
    return user


def generate_payouts(*, seed: int = 20261122, applications_count: int = 300) -> dict:
    """The demo's round and applications; returns what was made. Needs firms and policies already seeded."""
    from django.conf import settings

    rng = random.Random(seed)
    SmsTemplate.objects.get_or_create(
        code=settings.SMS_PAYOUT_TEMPLATE,
        defaults={"name": "免申即享意愿确认", "kind": SmsTemplate.Kind.NOTICE, "body": NOTICE_BODY},
    )
    SmsTemplate.objects.get_or_create(
        code=settings.SMS_APPLICATION_TEMPLATE,
        defaults={"name": "申报办理进度", "kind": SmsTemplate.Kind.NOTICE, "body": PROGRESS_BODY},
    )
    officer, checker = _staff("payout", PAYOUT_OFFICER), _staff("payoutcheck", PAYOUT_APPROVER)
    made = {"round": None, "applications": 0}
    policy = _pick_policy()
    if policy is not None:
        made["round"] = _round_in_publicity(policy, officer, checker, rng)
    made["applications"] = _applications(rng, applications_count)
    return made


def _pick_policy() -> Policy | None:
    """A published 免申即享 policy with a few hundred to a few thousand firms: a list worth showing."""
    index, today = get_index(), timezone.localdate()
    candidates = Policy.objects.filter(status=Policy.Status.PUBLISHED, delivery=Policy.Delivery.NO_APPLICATION)
    sized = [(len(index.audience(p.audience_rule or {"all": []}, today)), p.pk, p) for p in candidates.order_by("pk")]
    fitting = [s for s in sized if 100 <= s[0] <= 5000] or [s for s in sized if s[0]]
    return min(fitting, key=lambda s: (abs(s[0] - 1000), s[1]))[2] if fitting else None


def _round_in_publicity(policy: Policy, officer: User, checker: User, rng: random.Random) -> PayoutRound:
    PayoutStandard.objects.update_or_create(
        policy=policy,
        defaults={"kind": PayoutStandard.Kind.SHARE, "basis": PayoutStandard.Basis.ANNUAL_REVENUE,
                  "rate_percent": Decimal("1"), "cap": Decimal("200000"), "rounding_unit": Decimal("100"),
                  "legal_basis": "第三条"},
    )  # fmt: skip
    round_ = services.round_open(policy=policy, user=officer, name=f"{policy.short_title or policy.title[:16]} 第一批")
    services.round_submit(round_=round_, user=officer)
    services.round_approve(round_=round_, user=checker)  # the 意愿确认 SMS goes out when a worker runs
    with transaction.atomic():
        listed = list(PayoutEntry.objects.filter(round=round_, status=PayoutEntry.Status.LISTED).order_by("pk"))
        now = timezone.now()
        for entry in listed:
            roll = rng.random()
            if roll < 0.85:
                account = "6222" + "".join(rng.choice("0123456789") for _ in range(15))
                entry.status, entry.bank_name = PayoutEntry.Status.CONFIRMED, rng.choice(BANKS)
                entry.account_encrypted, entry.account_last4 = encrypt(account), account[-4:]
                entry.answered_at = now - datetime.timedelta(hours=rng.randint(1, 90))
            elif roll < 0.9:
                entry.status, entry.reason, entry.answered_at = PayoutEntry.Status.DECLINED, "企业自愿放弃", now
        PayoutEntry.objects.bulk_update(listed, ["status", "bank_name", "account_encrypted", "account_last4",
                                                 "answered_at", "reason"], batch_size=2000)  # fmt: skip
        PayoutRound.objects.filter(pk=round_.pk).update(
            confirm_deadline=timezone.localdate() - datetime.timedelta(days=1)
        )
    round_ = publicity.round_publish(round_=round_, user=officer)
    # Two objections in the first days of 公示, for the supervision queue: one naming a firm, one not.
    named = PayoutEntry.objects.filter(round=round_, status=PayoutEntry.Status.CONFIRMED).order_by("pk").first()
    if named is not None:
        publicity.objection_raise(
            round_=round_, reason="该企业去年下半年已基本停产，申报的营业收入与实际不符，请核实。",
            contact="0510-8523****（匿名群众）", entry_id=named.pk,
        )  # fmt: skip
    publicity.objection_raise(
        round_=round_, reason="名单中有企业的注册地已迁出本区，是否仍应享受本区奖励？",
        contact="139****2718",
    )  # fmt: skip
    return round_


def _applications(rng: random.Random, count: int) -> int:
    """States of ``count`` applications to ordinary policies, reported as a department's system would."""
    from enterprises.models import Enterprise

    policies = list(
        Policy.objects.filter(status=Policy.Status.PUBLISHED).exclude(delivery=Policy.Delivery.NO_APPLICATION)
        .prefetch_related("departments").order_by("pk")[:5]
    )  # fmt: skip
    firms = list(Enterprise.objects.order_by("pk").values_list("uscc", flat=True)[: count * 3])
    if not policies or not firms:
        return 0
    system, _ = User.objects.get_or_create(username="dept-system", defaults={"is_staff": False})
    system.user_permissions.add(Permission.objects.get(codename="report_application"))
    for policy in policies:
        for department in policy.departments.all():
            ApplicationReporter.objects.get_or_create(user=system, department=department)
    today, lines, n = timezone.localdate(), [], 0
    ladder = ["已受理", "审核中", "已公示", "已拨付"]
    for i in range(count):
        policy, uscc = policies[i % len(policies)], rng.choice(firms)
        start = today - datetime.timedelta(days=rng.randint(5, 120))
        reach = rng.choices([1, 2, 3, 4, 0], weights=[25, 30, 15, 20, 10])[0]
        steps = ladder[:reach] if reach else ["已受理", "未通过"]
        for k, status in enumerate(steps):
            n += 1
            line = {"uscc": uscc, "policy": policy.pk, "external_id": f"DEMO-{policy.pk}-{i:05d}", "status": status,
                    "at": (start + datetime.timedelta(days=12 * k)).isoformat()}  # fmt: skip
            if status == "已拨付":
                line["amount"] = rng.choice([20000, 50000, 100000, 200000])
            if status == "未通过":
                line["reason"] = "申报材料不全，未按期补正"
            lines.append((n, line))
    return applications.applications_report(user=system, lines=lines).accepted
