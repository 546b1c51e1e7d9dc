"""An enterprise's own pages after signing in with the USCC and an SMS code: its policy package,
subscriptions and corrections (the SMS link page is in ``link``). Every write is a POST with CSRF
protection, and every read and write is limited to the enterprise the session belongs to."""

from __future__ import annotations

import secrets
from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from core.client_address import client_address
from enterprises.identity import current_enterprise, enterprise_sign_in, enterprise_sign_out
from enterprises.models import Enterprise
from notifications import consent
from policies.models import Policy
from portal import selectors
from portal.models import PolicyReaction, TagCorrection
from portal.payouts import selectors as payouts
from portal.services import corrections, feedback, human_check, signin
from portal.templatetags.portal_format import SECTION_MESSAGE


def policy_action(request, enterprise_id: int, policy_id: int, action: str) -> None:
    """感兴趣 / 已申报 / 不相关, or a 好差评 rating with an optional comment."""
    try:
        if action == "react":
            feedback.policy_react(enterprise_id=enterprise_id, policy_id=policy_id, kind=request.POST.get("kind", ""))
            messages.success(request, "已记录您的反馈，谢谢。")
        elif action == "rate":
            feedback.policy_rate(
                enterprise_id=enterprise_id,
                policy_id=policy_id,
                rating=request.POST.get("rating", ""),
                comment=request.POST.get("comment", ""),
            )
            messages.success(request, "评价已提交，工作人员会跟进处理，答复会显示在这里。")
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, exc.messages[0])


# --- signing in --------------------------------------------------------------------------------------------


def enterprise_required(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        enterprise = current_enterprise(request)
        if enterprise is None:
            return redirect(f"{reverse('portal:login')}?next={request.path}")
        return view(request, enterprise, *args, **kwargs)

    return wrapper


def login(request):
    """USCC, then a code sent to the registered mobile (and, after a few wrong codes, the digits of a picture).
    Answers never say whether a firm exists."""
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("portal:my")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = reverse("portal:my")
    uscc, client = request.POST.get("uscc", "").strip().upper(), client_address(request)
    context = {"next": next_url, "uscc": uscc, "code_sent": False, "human_check": False}
    status = 200
    if request.method == "POST":
        sending = request.POST.get("action") == "send"
        try:
            if sending:
                messages.info(request, signin.login_code_send(uscc=uscc, ip=client))
                context["code_sent"] = True
                context["human_check"] = signin.login_human_check_needed(uscc=uscc, ip=client)
            else:
                human = "check" in request.POST and human_check.human_check_pass(
                    session=request.session, answer=request.POST["check"]
                )
                enterprise = signin.login_code_check(
                    uscc=uscc, code=request.POST.get("code", ""), ip=client, human_checked=human
                )
                enterprise_sign_in(request, enterprise)
                return redirect(next_url)
        except signin.LoginRefused as exc:
            messages.error(request, str(exc))
            context["code_sent"] = not sending or context["code_sent"]
            context["human_check"] = context["human_check"] or exc.human_check
            if exc.busy:
                status = 503
    if context["human_check"]:
        context["check_nonce"] = secrets.token_hex(4)  # a new picture each time the page is shown
    return render(request, "portal/login.html", context, status=status)


@never_cache
def login_check_picture(request):
    """The picture of the sign-in human check; each one replaces the last for this visitor."""
    return HttpResponse(human_check.human_check_new(session=request.session), content_type="image/png")


@require_POST
def logout(request):
    enterprise_sign_out(request)
    return redirect("portal:home")


def fixed_link(request):
    """The one address in SMS for strict channels: the firm signs in, then sees its package."""
    return redirect(f"{reverse('portal:login')}?next={reverse('portal:my')}")


# --- the signed-in enterprise's pages ----------------------------------------------------------------------------


@enterprise_required
def my_package(request, enterprise: Enterprise):
    return render(
        request,
        "portal/my.html",
        {
            "enterprise": enterprise,
            "package": selectors.my_package(enterprise=enterprise, label_query=request.GET.get("labels_q", "")[:20]),
            "reaction_kinds": PolicyReaction.Kind.choices,
            "trackers": payouts.enterprise_trackers(enterprise_id=enterprise.pk),
        },
    )


@require_POST
@enterprise_required
def my_policy_action(request, enterprise: Enterprise, pk: str, action: str):
    pk = int(pk)
    if not Policy.objects.filter(pk=pk, status=Policy.Status.PUBLISHED).exists():
        raise Http404("政策不存在或尚未发布")
    policy_action(request, enterprise.pk, pk, action)
    return redirect(f"{reverse('portal:my')}#p{pk}")


def _section_message(request, section: str, level: int, text: str) -> None:
    """A message shown next to the form that was sent (my.html renders it inside ``section``), not at the
    top of a long page the browser has scrolled away from."""
    messages.add_message(request, level, text, extra_tags=f"{SECTION_MESSAGE}{section}")


def _ids(values: list[str]) -> list[int]:
    return [int(x) for x in values if x.isdecimal() and x.isascii()]


@require_POST
@enterprise_required
def my_subscriptions(request, enterprise: Enterprise):
    feedback.subscriptions_set(enterprise_id=enterprise.pk, label_ids=_ids(request.POST.getlist("labels")))
    _section_message(request, "subscriptions", messages.SUCCESS, "订阅已保存：今后的推送与政策排序会优先考虑这些标签。")
    return redirect(f"{reverse('portal:my')}#subscriptions")


@require_POST
@enterprise_required
def my_correction(request, enterprise: Enterprise):
    tag = request.POST.get("tag", "")
    try:
        correction = corrections.correction_request(
            enterprise_id=enterprise.pk,
            tag_id=int(tag) if tag.isdecimal() and tag.isascii() else (None if not tag else 0),
            action=request.POST.get("action", ""),
            field=request.POST.get("field", ""),
            requested_value=request.POST.get("requested_value", ""),
            reason=request.POST.get("reason", ""),
        )
        text = "纠错申请已提交，工作人员核实后会更新，结果显示在本页“我的纠错申请”。"
        disputed_derived_tag = request.POST.get("action") == TagCorrection.Action.REMOVE
        if disputed_derived_tag and correction.action == TagCorrection.Action.FIELD:
            text = (
                f"“{correction.tag.name}”由贵企业的登记信息（{correction.get_field_display()}）推导得出，"
                "已作为登记信息纠错提交，工作人员核实后更正。"
            )
        _section_message(request, "corrections", messages.SUCCESS, text)
    except ValidationError as exc:
        _section_message(request, "corrections", messages.ERROR, exc.messages[0])
    return redirect(f"{reverse('portal:my')}#corrections")


@require_POST
@enterprise_required
def my_sms(request, enterprise: Enterprise):
    """Stop or resume policy SMS from the firm's own page: stopping needs the confirmation box ticked, and
    the page then offers to take it back."""
    if request.POST.get("action") == "resume":
        consent.enterprise_sms_opt_in(enterprise_id=enterprise.pk)
        _section_message(request, "sms", messages.SUCCESS, "已恢复接收政策推送短信。")
    elif request.POST.get("confirm") == "yes":
        consent.enterprise_sms_opt_out(enterprise_id=enterprise.pk)
        _section_message(
            request,
            "sms",
            messages.SUCCESS,
            "已退订：今后不再向贵企业发送政策推送短信（登录验证码不受影响）。如需恢复，点下方“恢复接收”。",
        )
    else:
        _section_message(request, "sms", messages.ERROR, "请先勾选“确认不再接收政策推送短信”，再点退订。")
    return redirect(f"{reverse('portal:my')}#sms")
