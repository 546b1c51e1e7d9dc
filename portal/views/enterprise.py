"""An enterprise's own pages after signing in with the USCC and an SMS code: its policy package,
subscriptions and corrections (the SMS link page is in ``link``). Every write is a POST with CSRF
protection, and every read and write is limited to the enterprise the session belongs to."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from enterprises.identity import current_enterprise, enterprise_sign_in, enterprise_sign_out
from enterprises.models import Enterprise
from policies.models import Policy
from portal import selectors
from portal.models import PolicyReaction
from portal.payouts import selectors as payouts
from portal.services import corrections, feedback, signin


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


def _client_ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


def login(request):
    """USCC, then a code sent to the registered mobile. Answers never say whether a firm exists."""
    next_url = request.POST.get("next") or request.GET.get("next") or reverse("portal:my")
    if not url_has_allowed_host_and_scheme(next_url, {request.get_host()}, request.is_secure()):
        next_url = reverse("portal:my")
    context = {"next": next_url, "uscc": request.POST.get("uscc", "").strip().upper(), "code_sent": False}
    if request.method == "POST":
        try:
            if request.POST.get("action") == "send":
                messages.info(request, signin.login_code_send(uscc=context["uscc"], ip=_client_ip(request)))
                context["code_sent"] = True
            else:
                enterprise = signin.login_code_check(
                    uscc=context["uscc"], code=request.POST.get("code", ""), ip=_client_ip(request)
                )
                enterprise_sign_in(request, enterprise)
                return redirect(next_url)
        except signin.LoginRefused as exc:
            messages.error(request, str(exc))
            context["code_sent"] = request.POST.get("action") != "send"
    return render(request, "portal/login.html", context)


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
            "package": selectors.my_package(enterprise=enterprise),
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


@require_POST
@enterprise_required
def my_subscriptions(request, enterprise: Enterprise):
    feedback.subscriptions_set(
        enterprise_id=enterprise.pk, label_ids=[int(x) for x in request.POST.getlist("labels") if x.isdigit()]
    )
    messages.success(request, "订阅已保存：今后的推送与政策排序会优先考虑这些标签。")
    return redirect(f"{reverse('portal:my')}#subscriptions")


@require_POST
@enterprise_required
def my_correction(request, enterprise: Enterprise):
    try:
        corrections.correction_request(
            enterprise_id=enterprise.pk,
            tag_id=int(request.POST.get("tag") or 0),
            action=request.POST.get("action", ""),
            reason=request.POST.get("reason", ""),
        )
        messages.success(request, "纠错申请已提交，工作人员核实后会更新标签，结果显示在本页。")
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    return redirect(f"{reverse('portal:my')}#profile")
