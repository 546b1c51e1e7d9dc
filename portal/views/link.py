"""The page behind the SMS link (no sign-in: the unguessable link is the key) and what a firm can do there.

After a push a million firms open their links within hours, and their pages differ only in a few places:
the firm's name, its own values in the checklist, the link and the CSRF token. So a page is rendered once
per *shape* (the policies and their generation, the day, which conditions were met, whether the firm
unsubscribed) with markers in those places, kept in this process, and each opening fills the markers in
with that firm's values: one query, one Redis round trip, no template rendering. A firm that has reacted
to or rated a policy, or has a message to see, gets its page rendered in full.
"""

from __future__ import annotations

import logging
import re
import secrets
import threading
from collections import OrderedDict
from dataclasses import replace
from types import SimpleNamespace

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.middleware.csrf import get_token
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from notifications import links
from notifications.consent import enterprise_sms_opt_out
from portal import selectors
from portal.models import PolicyReaction
from portal.payouts import selectors as payouts
from portal.views.enterprise import policy_action

TEMPLATE = "portal/link.html"
# A marker survives HTML escaping untouched: private-use characters around a secret drawn once per process
# and a slot name. Content cannot forge one (policy text may hold the same characters, never the secret),
# so a policy can never print a visitor's name or CSRF token, nor name a slot that does not exist.
_SECRET = secrets.token_hex(8)
MARK = f"\ue000{_SECRET}:{{}}\ue001"
MARKS = re.compile(f"\ue000{_SECRET}:(\\w+)\ue001")
SHAPES_KEPT = 256
log = logging.getLogger("portal.link")

_shapes: OrderedDict[tuple, list[str]] = OrderedDict()
_shapes_lock = threading.Lock()


def _context(*, firm, cards: list[selectors.PolicyCard], token: str) -> dict:
    return {
        "firm": firm,
        "cards": cards,
        "action_base": reverse("portal:link", args=[token]),
        "reaction_kinds": PolicyReaction.Kind.choices,
    }


def _shape(key: tuple, cards: list[selectors.PolicyCard], sms_opt_out: bool) -> list[str]:
    """The page of this shape as alternating text and slot names: ``name``, ``title``, ``token``, ``csrf``
    and ``0``, ``1``, … for the firm's values in the checklist, in order."""
    with _shapes_lock:
        parts = _shapes.get(key)
        if parts is not None:
            _shapes.move_to_end(key)
            return parts
    slots = iter(range(10_000))
    marked = [
        replace(card, reasons=[replace(r, actual=MARK.format(next(slots)) if r.actual else "") for r in card.reasons])
        for card in cards
    ]
    dummy = "0" * 16  # a well-formed token for reverse(), swapped for the marker after
    context = _context(
        firm=SimpleNamespace(name=MARK.format("name"), short_name=MARK.format("title"), sms_opt_out=sms_opt_out),
        cards=marked,
        token=dummy,
    )
    context["action_base"] = context["action_base"].replace(dummy, MARK.format("token"))
    context["csrf_token"] = MARK.format("csrf")
    parts = MARKS.split(render_to_string(TEMPLATE, context))
    with _shapes_lock:
        _shapes[key] = parts
        while len(_shapes) > SHAPES_KEPT:
            _shapes.popitem(last=False)
    return parts


def _fill(parts: list[str], values: dict[str, str]) -> str:
    page = parts.copy()
    for i in range(1, len(page), 2):
        page[i] = values[page[i]]
    return "".join(page)


# A firm with feedback, or with a payout or an application to follow, gets its page rendered in full.
_PERSONAL_SQL = f"({selectors.LINK_FEEDBACK_SQL})\n       OR {payouts.LINK_TRACKER_SQL}"


def _visit(token: str) -> links.LinkVisit | None:
    return links.link_visit(token=token, feedback_sql=_PERSONAL_SQL)


def _forget_shape(key: tuple) -> None:
    with _shapes_lock:
        _shapes.pop(key, None)


def reset_shapes() -> None:
    """Forget this process's page shapes (tests, whose policy edits never commit and so never announce)."""
    with _shapes_lock:
        _shapes.clear()


@never_cache
def package_link(request, token: str):
    """The firm's policies from this SMS, why it qualifies, and how to apply; a friendly page when the
    link is unknown (404), revoked or expired (410)."""
    visit = _visit(token)
    if visit is None or not visit.usable():
        status = 404 if visit is None else 410
        return render(request, "portal/link_expired.html", {"revoked": visit is not None}, status=status)
    generation = links.link_opened(message_id=visit.message_id)
    personal = (
        visit.has_feedback
        or settings.SESSION_COOKIE_NAME in request.COOKIES
        or "messages" in request.COOKIES
        or generation is None
    )
    cards = selectors.link_bundle(visit=visit, generation=generation)
    if personal:
        trackers = payouts.enterprise_trackers(enterprise_id=visit.enterprise_id, token=token)
        return render(request, TEMPLATE, {**_context(firm=visit, cards=cards, token=token), "trackers": trackers})
    today = timezone.localdate()
    key = (
        generation,
        today,
        visit.sms_opt_out,
        # The lines themselves, not only their states: an "any" group shows the branch that made it true.
        tuple((c.policy.pk, tuple((r.description, r.state, bool(r.actual)) for r in c.reasons)) for c in cards),
    )
    values = {
        "name": escape(visit.name),
        "title": escape(visit.short_name or visit.name),
        "token": token,  # the URL pattern admits only [A-Za-z0-9_-]
        "csrf": get_token(request),
    }
    actuals = (r.actual for c in cards for r in c.reasons if r.actual)
    values.update((str(i), escape(actual)) for i, actual in enumerate(actuals))
    try:
        return HttpResponse(_fill(_shape(key, cards, visit.sms_opt_out), values))
    except (KeyError, IndexError):  # a shape that does not fit this page: never a 500, never a wrong value
        log.exception("链接页面模板填充失败，改为完整渲染")
        _forget_shape(key)
        return render(request, TEMPLATE, _context(firm=visit, cards=cards, token=token))


@require_POST
def link_policy_action(request, token: str, pk: str, action: str):
    pk = int(pk)  # a regex route passes text
    visit = _visit(token)
    if visit is None or not visit.usable() or pk not in visit.policy_ids:
        raise Http404("链接已失效，或该政策不在此次推送中")
    policy_action(request, visit.enterprise_id, pk, action)
    return redirect(f"{reverse('portal:link', args=[token])}#p{pk}")


@require_POST
def link_unsubscribe(request, token: str):
    visit = _visit(token)
    if visit is None or not visit.usable():
        raise Http404("链接已失效")
    enterprise_sms_opt_out(enterprise_id=visit.enterprise_id)
    messages.success(request, "已退订：今后不再向贵企业发送政策推送短信。登录后仍可随时查看政策包。")
    return redirect("portal:link", token=token)
