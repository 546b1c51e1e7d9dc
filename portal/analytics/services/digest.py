"""The daily supervision digest (督办日报): for each owner with open items, one ``Digest`` row (shown in the admin)
and, when a template is registered for it, an SMS to each staff member of that owner who gave a mobile.

Working days only. Idempotent: one digest per owner and day (unique), and the SMS goes out only with the
digest's first creation, so a task run twice sends nothing twice.
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.workdays import LIGHT_LABELS, Light, is_working_day
from enterprises.validators import mask_mobile
from notifications.gateways import Outcome, OutgoingSms, callid, get_gateway
from notifications.sms_rules import template_params
from policies.models import StaffScope
from policies.scope import CITY
from portal.analytics.models import Digest
from portal.analytics.selectors.supervision import open_items

log = logging.getLogger("portal.analytics.digest")
ITEMS_IN_DIGEST = 30


def digest_send(*, day: datetime.date | None = None) -> list[Digest]:
    """Make (and text) today's digests; returns those made now (none on a day off or a second run)."""
    day = day or timezone.localdate()
    if not is_working_day(day):
        return []
    groups: dict[tuple, list] = defaultdict(list)
    for item, light in open_items(scope=CITY, today=day):
        owner = (item.department_id, None) if item.department_id else (None, item.region_id)
        groups[owner].append((item, light))
    made = []
    for (department_id, region_id), items in groups.items():
        red = sum(1 for _, light in items if light == Light.RED)
        yellow = sum(1 for _, light in items if light == Light.YELLOW)
        owner = items[0][0].owner
        lines = [f"{day:%Y-%m-%d} 督办日报：{owner}待办 {len(items)} 件，超期 {red} 件，临期 {yellow} 件。"]
        lines += [f"【{LIGHT_LABELS[light]}】{item.kind_label}：{item.title}（期限 {item.deadline:%m-%d}）"
                  for item, light in items[:ITEMS_IN_DIGEST] if light != Light.GREEN]  # fmt: skip
        try:
            with transaction.atomic():
                digest = Digest.objects.create(
                    day=day, department_id=department_id, region_id=region_id, open_items=len(items),
                    red=red, yellow=yellow, body="\n".join(lines),
                    items=[{"kind": i.kind_label, "title": i.title, "deadline": i.deadline.isoformat(),
                            "light": str(light), "url": i.url} for i, light in items[:ITEMS_IN_DIGEST]],
                )  # fmt: skip
        except IntegrityError:
            continue  # made by an earlier run today
        digest.sms_sent = _text_staff(digest, owner)
        if digest.sms_sent:
            digest.save(update_fields=["sms_sent"])
        made.append(digest)
    return made


def _recipients(digest: Digest) -> list[str]:
    scopes = StaffScope.objects.exclude(mobile="").filter(user__is_active=True)
    if digest.department_id:
        scopes = scopes.filter(department_id=digest.department_id)
    elif digest.region_id:
        scopes = scopes.filter(region_id=digest.region_id, department__isnull=True)
    else:
        scopes = scopes.filter(region__isnull=True, department__isnull=True)
    return sorted(set(scopes.values_list("mobile", flat=True)))


def _text_staff(digest: Digest, owner: str) -> int:
    """SMS the digest's figures to its owner's staff; returns how many the gateway took. Off without a template."""
    if not settings.QUEUE_DIGEST_SMS_TEMPLATE:
        return 0
    mobiles = _recipients(digest)
    if not mobiles:
        return 0
    body = settings.QUEUE_DIGEST_SMS_TEMPLATE_BODY
    values = {"unit": owner, "open": digest.open_items, "red": digest.red, "yellow": digest.yellow}
    messages = [OutgoingSms(f"D{digest.pk}-{n}", mobile, template_params(body, values), body)
                for n, mobile in enumerate(mobiles)]  # fmt: skip
    results = get_gateway().send(
        messages, signature=settings.SMS_SIGNATURE, template_code=settings.QUEUE_DIGEST_SMS_TEMPLATE,
        call_id=callid.digest_call_id(digest_id=digest.pk),
    )  # fmt: skip
    sent = 0
    for sms, result in zip(messages, results, strict=True):
        if result.outcome in {Outcome.ACCEPTED, Outcome.UNKNOWN}:
            sent += 1
        else:
            log.warning("督办短信发送失败（%s）：%s", mask_mobile(sms.mobile), result.error)
    return sent
