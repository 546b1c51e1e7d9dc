from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.views.decorators.http import require_POST

from enterprises.validators import mask_mobile
from notifications import audience, dispatch, links, selectors, services
from notifications.models import Campaign, Message, SmsTemplate
from notifications.sms_rules import check_template
from policies.scope import scope_for


class SmsTemplateForm(forms.ModelForm):
    class Meta:
        model = SmsTemplate
        fields = ["name", "code", "kind", "body", "is_active"]

    def clean(self):
        data = super().clean()
        if self.instance.pk:
            busy = services.template_campaigns_in_flight(template=self.instance)
            if busy:
                names = "、".join(f"“{c.name}”" for c in busy)
                raise forms.ValidationError(f"推送批次{names}正在使用此模板发送，发送完成或取消前不能修改模板。")
        if data.get("body"):
            check = check_template(body=data["body"], signature=settings.SMS_SIGNATURE,
                                   marketing=data.get("kind") == SmsTemplate.Kind.MARKETING)  # fmt: skip
            for problem in check.problems:
                self.add_error("body", problem)
        return data


@admin.register(SmsTemplate)
class SmsTemplateAdmin(admin.ModelAdmin):
    form = SmsTemplateForm
    list_display = ["name", "code", "kind", "is_active"]

    def save_model(self, request, obj, form, change):
        if not change:
            super().save_model(request, obj, form, change)
            return
        values = {name: form.cleaned_data[name] for name in form.changed_data if name in services.TEMPLATE_FIELDS}
        voided = services.sms_template_update(template=obj, user=request.user, values=values)
        for campaign in voided:
            self.message_user(request, f"推送批次“{campaign.name}”：{APPROVAL_VOID}", messages.WARNING)


ONE_SEGMENT = 70  # characters, signature included (DOMAIN.md: up to 70 is one message)
APPROVAL_VOID = "修改已保存。推送复核通过后又被修改，原复核已作废，推送已回到草稿：请重新提交复核。"
APPROVED_NOTICE = "此推送已复核通过并排期。保存任何修改都会作废复核：推送回到草稿，须重新提交复核后才会发送。"


def launch_confirmation(preview) -> str:
    """What the operator confirms before a push goes out: firms, billed segments and the cost."""
    return f"{preview.recipients}|{preview.segments}"


def one_segment_advice(preview) -> str:
    """When the longest sample bills more than one segment: by how much to shorten the template."""
    longest = max(preview.samples, key=lambda s: s["length"], default=None)
    if longest is None or longest["segments"] <= 1:
        return ""
    over = longest["length"] - ONE_SEGMENT
    return (
        f"最长的样例短信 {longest['length']} 字（含签名），每家企业按 {longest['segments']} 条计费；"
        f"把模板缩短约 {over} 字即可按 1 条计费，本次约可少付 "
        f"{preview.recipients * (longest['segments'] - 1) * settings.SMS_UNIT_PRICE_FEN / 100:,.2f} 元。"
    )


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    change_form_template = "admin/notifications/campaign/change_form.html"
    list_display = ["name", "purpose", "status", "template", "launched_at", "created_at"]
    list_filter = ["status", "purpose"]
    autocomplete_fields = ["policies"]
    fields = ["name", "purpose", "scope", "policies", "template", "link_mode", "force_reminder", "daily_cap",
              "scheduled_at", "status", "launched_by", "launched_at", "approved_by", "approved_at",
              "review_note"]  # fmt: skip
    # A progress notice (兑现进度通知: 意愿确认, 办理进度) is written by the 兑现 app, never chosen here.
    readonly_fields = ["purpose", "status", "launched_by", "launched_at", "approved_by", "approved_at", "review_note"]

    def get_queryset(self, request):
        # District and department staff see the pushes that name one of their policies, and the pushes of
        # "everything published since the last push", whose policies are chosen only when they are planned.
        queryset = super().get_queryset(request)
        scope = scope_for(request.user)
        if scope.is_city:
            return queryset
        chosen = Campaign.policies.through.objects.filter(policy__in=scope.visible_policies()).values("campaign_id")
        return queryset.filter(Q(pk__in=chosen) | Q(scope=Campaign.Scope.SINCE_LAST))

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
            super().save_model(request, obj, form, change)
            return
        # Edits go through the service, which voids an approval the change would make untrue.
        changed = set(form.changed_data)  # compared at the form's precision (no microseconds in a time)
        values = {name: form.cleaned_data[name] for name in services.SETTINGS_FIELDS if name in changed}
        policies = list(form.cleaned_data["policies"]) if "policies" in changed else None
        update = services.campaign_update(campaign=obj, user=request.user, values=values, policies=policies)
        if update.approval_void:
            self.message_user(request, APPROVAL_VOID, messages.WARNING)

    def save_related(self, request, form, formsets, change):
        if not change:  # on a change the service has set the policies
            super().save_related(request, form, formsets, change)

    def get_fields(self, request, obj=None):
        fields = list(super().get_fields(request, obj))
        if obj is None:
            fields.remove("purpose")
        if obj is not None and obj.status not in {Campaign.Status.DRAFT, Campaign.Status.SCHEDULED}:
            fields.remove("status")  # the progress panel says it, and keeps saying it as the push moves on
        return fields

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.status not in {Campaign.Status.DRAFT, Campaign.Status.SCHEDULED}:
            return False  # a launched push is read-only; it can only be cancelled
        if obj is not None and obj.purpose == Campaign.Purpose.PROGRESS:
            return False  # its firms and text come from the 兑现 app: approve, send back or cancel it, never edit
        return super().has_change_permission(request, obj)

    def get_urls(self):
        def view(fn, post=False):
            return self.admin_site.admin_view(require_POST(fn) if post else fn)

        return [
            path("<int:pk>/launch/", view(self.launch_view, post=True), name="notifications_campaign_launch"),
            path("<int:pk>/approve/", view(self.approve_view, post=True), name="notifications_campaign_approve"),
            path("<int:pk>/send-back/", view(self.send_back_view, post=True), name="notifications_campaign_send_back"),
            path("<int:pk>/cancel/", view(self.cancel_view, post=True), name="notifications_campaign_cancel"),
            path("<int:pk>/progress/", view(self.progress_view), name="notifications_campaign_progress"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        campaign = self.get_object(request, object_id)
        extra_context = extra_context or {}
        if campaign is not None:
            extra_context["campaign"] = campaign
            extra_context["can_launch"] = request.user.has_perm("notifications.launch_campaign")
            extra_context["needs_approval"] = settings.SMS_LAUNCH_APPROVAL
            if campaign.status == Campaign.Status.SCHEDULED and (settings.SMS_LAUNCH_APPROVAL or campaign.approved_at):
                extra_context["approved_notice"] = APPROVED_NOTICE
            extra_context["can_approve"] = (
                request.user.has_perm("notifications.approve_campaign") and campaign.launched_by_id != request.user.pk
            )
            if campaign.status in {Campaign.Status.DRAFT, Campaign.Status.AWAITING_APPROVAL, Campaign.Status.SCHEDULED}:
                preview = services.campaign_preview(campaign=campaign)
                extra_context["preview"] = preview
                extra_context["exclusions"] = [(audience.EXCLUSION_LABELS[k], v) for k, v in preview.excluded.items()]
                extra_context["launch_confirm"] = launch_confirmation(preview)
                extra_context["too_long"] = one_segment_advice(preview)
            else:
                extra_context["progress"] = selectors.campaign_progress(campaign=campaign)
        return super().change_view(request, object_id, form_url, extra_context)

    def launch_view(self, request, pk):
        # Asked once, with the numbers: the box names them, and they must still be true when the form arrives.
        campaign = get_object_or_404(self.get_queryset(request), pk=pk)
        expected = launch_confirmation(services.campaign_preview(campaign=campaign))
        if request.POST.get("confirm") != expected:
            self.message_user(request, "请先核对并勾选发送确认（企业数、计费条数与费用）后再发起推送。", messages.ERROR)
            return redirect(reverse("admin:notifications_campaign_change", args=[pk]))
        campaign = self._act(request, pk, services.campaign_launch)
        if campaign is not None:
            waiting = campaign.status == Campaign.Status.AWAITING_APPROVAL
            done = "已提交复核，另一位复核人确认后开始推送。" if waiting else "已发起推送，后台正在生成并发送短信。"
            self.message_user(request, done, messages.SUCCESS)
        return redirect(reverse("admin:notifications_campaign_change", args=[pk]))

    def approve_view(self, request, pk):
        if self._act(request, pk, services.campaign_approve) is not None:
            self.message_user(request, "已复核通过，推送按计划开始。", messages.SUCCESS)
        return redirect(reverse("admin:notifications_campaign_change", args=[pk]))

    def send_back_view(self, request, pk):
        def send_back(*, campaign, user):
            return services.campaign_send_back(campaign=campaign, user=user, reason=request.POST.get("reason", ""))

        if self._act(request, pk, send_back) is not None:
            self.message_user(request, "已退回发起人修改。", messages.SUCCESS)
        return redirect(reverse("admin:notifications_campaign_change", args=[pk]))

    def _act(self, request, pk, service) -> Campaign | None:
        """Run a state change as the signed-in user; its refusal becomes a message, and None is returned."""
        campaign = get_object_or_404(self.get_queryset(request), pk=pk)
        try:
            return service(campaign=campaign, user=request.user)
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
        except ValidationError as exc:
            for problem in exc.messages:
                self.message_user(request, problem, messages.ERROR)
        return None

    def cancel_view(self, request, pk):
        campaign = get_object_or_404(self.get_queryset(request), pk=pk)
        try:
            cancelled = dispatch.campaign_cancel(campaign=campaign, user=request.user)
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"已取消推送，{cancelled:,} 条待发短信不再发送。", messages.SUCCESS)
        return redirect(reverse("admin:notifications_campaign_change", args=[pk]))

    def progress_view(self, request, pk):
        campaign = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, campaign):
            raise PermissionDenied
        return JsonResponse(selectors.campaign_progress(campaign=campaign))


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    actions = ["revoke_links"]

    @admin.action(description="撤销所选短信中的政策包链接")
    def revoke_links(self, request, queryset):
        try:
            for message in queryset:
                links.link_revoke(message=message, user=request.user)
        except PermissionDenied as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(request, f"已撤销 {queryset.count()} 个链接，打开时将提示登录查看。", messages.SUCCESS)

    list_display = ["campaign", "enterprise", "masked", "segments", "status", "attempts", "sent_at"]
    list_filter = ["status", "campaign"]
    list_select_related = ["campaign", "enterprise"]
    search_fields = ["=id", "=call_id", "enterprise__uscc"]
    show_full_result_count = False

    def get_queryset(self, request):
        # District staff see the messages to their district's firms; department staff those naming their policies.
        queryset = super().get_queryset(request)
        scope = scope_for(request.user)
        queryset = queryset.filter(scope.enterprise_q("enterprise__"))
        if scope.department_id is not None:
            queryset = queryset.filter(policy_ids__overlap=sorted(scope.visible_policy_ids() or []))
        return queryset

    @admin.display(description="手机号")
    def masked(self, obj: Message) -> str:
        return mask_mobile(obj.mobile)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_fields(self, request, obj=None):
        return ["campaign", "enterprise", "masked", "text", "length", "segments", "status", "call_id", "gateway_id",
                "error", "attempts", "created_at", "sent_at", "delivered_at", "first_opened_at", "open_count",
                "revoked_at"]  # fmt: skip

    @admin.display(description="短信正文（链接已隐去）")
    def text(self, obj: Message) -> str:
        # The link is the firm's key to its page (react, rate, unsubscribe): staff see it masked.
        text = selectors.message_text(message=obj)
        if obj.token:
            text = text.replace(obj.token, links.token_masked(obj.token))
        return f"【{settings.SMS_SIGNATURE}】{text}"

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)
