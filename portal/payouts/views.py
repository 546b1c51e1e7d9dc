"""The firm's 意愿确认 page (from its SMS link, or signed in) and the public 公示 page with its objections."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache

from core.client_address import client_address
from enterprises.identity import current_enterprise_id
from notifications import links
from portal.payouts import answers, publicity, selectors
from portal.payouts.models import PayoutEntry, PayoutRound

PUBLIC_STATUSES = (PayoutRound.Status.PUBLICITY, PayoutRound.Status.FINANCE, PayoutRound.Status.CLOSED)


def _entry_page(request, enterprise_id: int, entry_id: int, back: str, here: str):
    entry = selectors.entry_for_enterprise(enterprise_id=enterprise_id, entry_id=entry_id)
    if entry is None:
        raise Http404("没有找到该兑现事项")
    if request.method == "POST":
        try:
            if request.POST.get("action") == "decline":
                answers.entry_decline(entry=entry, reason=request.POST.get("reason", ""))
                messages.success(request, "已记录：贵企业放弃本次兑现。截止前可重新确认。")
            else:
                answers.entry_confirm(
                    entry=entry, bank_name=request.POST.get("bank_name", ""), account=request.POST.get("account", "")
                )
                messages.success(request, "已确认领取，收款账户已保存（加密存储，页面只显示后四位）。")
            return redirect(back)
        except ValidationError as exc:
            messages.error(request, exc.messages[0])
    tracker = selectors.payout_tracker(entry)
    return render(
        request,
        "payouts/confirm.html",
        {
            "entry": entry,
            "round": entry.round,
            "tracker": tracker,
            "amount_text": f"{entry.amount or 0:,.2f}",
            "back": back,
            "here": here,
            "why": selectors.entry_explanation(entry=entry),
            "standard": entry.round.standard.get("describe", ""),
            "can_answer": entry.status
            in {PayoutEntry.Status.LISTED, PayoutEntry.Status.CONFIRMED, PayoutEntry.Status.DECLINED}
            and entry.round.status == PayoutRound.Status.CONFIRMING,
            "can_correct": entry.status == PayoutEntry.Status.FAILED,
        },
    )


@never_cache
def link_entry(request, token: str, pk: str):
    """意愿确认 from the SMS link: the link is the key, and it opens only its own firm's entries."""
    visit = links.link_visit(token=token)
    if visit is None or not visit.usable():
        raise Http404("链接已失效，请登录后办理")
    back = reverse("portal:link", args=[token])
    return _entry_page(request, visit.enterprise_id, int(pk), back, reverse("payouts:link-entry", args=[token, pk]))


@never_cache
def my_entry(request, pk: int):
    enterprise_id = current_enterprise_id(request)
    if enterprise_id is None:
        return redirect(f"{reverse('portal:login')}?next={request.path}")
    return _entry_page(request, enterprise_id, pk, reverse("portal:my") + "#tracker", request.path)


def publicity_page(request, pk: int):
    """公示: the confirmed firms' names and amounts (no USCC, no phones, no accounts), and the objection form."""
    round_ = get_object_or_404(PayoutRound.objects.select_related("policy"), pk=pk, status__in=PUBLIC_STATUSES)
    if request.method == "POST":
        try:
            publicity.objection_raise(
                round_=round_,
                reason=request.POST.get("reason", ""),
                contact=request.POST.get("contact", ""),
                entry_id=int(request.POST.get("entry") or 0) or None,
                client=client_address(request),
            )
            days = settings.QUEUE_DEADLINES["objection"]
            messages.success(request, f"异议已提交，工作人员将在 {days} 个工作日内核实并答复。")
            return redirect("payouts:publicity", pk=pk)
        except (ValidationError, ValueError) as exc:
            messages.error(request, exc.messages[0] if isinstance(exc, ValidationError) else "所涉企业有误。")
    page = Paginator(range(round_.listed_count), 200).get_page(request.GET.get("page"))
    rows = selectors.publicity_rows(round_=round_, offset=page.start_index() - 1 if page.object_list else 0)
    return render(
        request,
        "payouts/publicity.html",
        {
            "round": round_,
            "rows": rows,
            "page": page,
            "open": round_.status == PayoutRound.Status.PUBLICITY,
            "count": round_.listed_count,
            "objection_days": settings.QUEUE_DEADLINES["objection"],
        },
    )
