"""Staff queues for what firms send from the portal: 好差评 to follow up and reply, 纠错 to review. Each list
shows how long an open item has waited, in working days, with its supervision light."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from core.workdays import Light
from enterprises.models import EnterpriseTag
from policies.scope import scope_for
from portal import queues
from portal.models import PolicyRating, TagCorrection
from portal.services.corrections import correction_review
from portal.services.feedback import rating_follow_up, rating_reply_notify

LIGHT_COLOURS = {Light.GREEN: "#1a7f37", Light.YELLOW: "#d4a000", Light.RED: "#c00"}


def wait_cell(wait: queues.Wait):
    """A coloured light with its word (never colour alone) and the working days waited."""
    return format_html(
        '<span class="queue-light queue-light-{}" title="办理时限：{}" style="white-space:nowrap">'
        '<span aria-hidden="true" style="display:inline-block;width:.8em;height:.8em;border-radius:50%;'
        'background:{};vertical-align:middle"></span> {} · 已等 {} 个工作日</span>',
        wait.light,
        f"{wait.deadline:%Y-%m-%d}",
        LIGHT_COLOURS[wait.light],
        wait.label,
        wait.working_days,
    )


class RatingForm(forms.ModelForm):
    notify_sms = forms.BooleanField(label="短信告知企业", required=False)

    class Meta:
        model = PolicyRating
        fields = ["status", "reply"]
        help_texts = {
            "status": "填写答复后保存，状态自动变为“已回复”。",
            "reply": "企业登录后在“我的政策包”中看到答复。",
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        enterprise = self.instance.enterprise if self.instance.pk else None
        if enterprise is not None and enterprise.contact_mobile:
            self.fields[
                "notify_sms"
            ].help_text = f"保存后发送一条短信到企业登记的手机（{enterprise.masked_mobile}），告知答复已可查看。"
        else:
            self.fields["notify_sms"].disabled = True
            self.fields["notify_sms"].help_text = "该企业未登记手机号，无法短信告知。"

    def clean(self):
        data = super().clean()
        reply = (data.get("reply") or "").strip()
        if data.get("status") == PolicyRating.Status.REPLIED and not reply:
            self.add_error("reply", "回复企业时请填写答复内容。")
        if data.get("notify_sms") and not reply:
            self.add_error("notify_sms", "请先填写答复，再短信告知企业。")
        return data


@admin.register(PolicyRating)
class PolicyRatingAdmin(admin.ModelAdmin):
    """好差评 loop: received → handled → replied; the reply is shown to the firm on its pages."""

    form = RatingForm
    list_display = ["created_at", "waited", "rating", "status", "short_comment", "policy_title", "enterprise"]
    list_filter = ["status", "rating"]
    list_select_related = ["policy", "enterprise"]
    search_fields = ["policy__title", "enterprise__name", "comment"]
    readonly_fields = ["enterprise", "policy", "rating", "comment", "created_at", "handled_by", "handled_at"]
    fields = [
        "enterprise", "policy", "rating", "comment", "created_at", "status", "reply", "notify_sms", "handled_by",
        "handled_at",
    ]  # fmt: skip

    def get_queryset(self, request):
        # District staff: ratings from their district's firms; department staff: ratings of their policies.
        scope = scope_for(request.user)
        return super().get_queryset(request).filter(scope.enterprise_q("enterprise__"), scope.policy_q("policy__"))

    @admin.display(description="意见")
    def short_comment(self, obj: PolicyRating) -> str:
        return obj.comment[:30]

    @admin.display(description="政策", ordering="policy__title")
    def policy_title(self, obj: PolicyRating):
        return format_html('<span title="{}">{}</span>', obj.policy.title, Truncator(obj.policy.title).chars(20))

    @admin.display(description="等待时长", ordering="created_at")
    def waited(self, obj: PolicyRating):
        if obj.status == PolicyRating.Status.REPLIED:
            return "已答复"
        kind = queues.RATING_BAD if obj.rating == PolicyRating.Rating.BAD else queues.RATING
        return wait_cell(queues.queue_wait(kind=kind, received_at=obj.created_at))

    def has_add_permission(self, request):
        return False  # ratings come from enterprises

    def has_delete_permission(self, request, obj=None):
        return False  # a rating is a record of what an enterprise said: followed up and answered, never deleted

    def save_model(self, request, obj, form, change):
        try:
            rating = rating_follow_up(rating=obj, user=request.user, status=obj.status, reply=obj.reply)
        except (ValidationError, PermissionDenied) as exc:
            self.message_user(request, " ".join(getattr(exc, "messages", [str(exc)])), messages.ERROR)
            return
        if form.cleaned_data.get("notify_sms"):
            # Sent once the reply is saved for good, so the SMS never announces a reply that was rolled back.
            transaction.on_commit(lambda: self.tell_enterprise(request, rating))

    def tell_enterprise(self, request, rating: PolicyRating) -> None:
        try:
            masked = rating_reply_notify(rating=rating)
        except ValidationError as exc:
            self.message_user(request, f"答复已保存，但{exc.messages[0]}", messages.WARNING)
        else:
            self.message_user(request, f"已发送短信告知企业（{masked}）。", messages.SUCCESS)


class CorrectionForm(forms.ModelForm):
    # No default: saving without looking must not change an enterprise's data.
    decision = forms.ChoiceField(
        label="审核结论",
        choices=[("", "请选择审核结论"), ("approve", "采纳：按申请修改标签"), ("reject", "不采纳")],
        error_messages={"required": "请选择审核结论：采纳或不采纳。"},
    )

    class Meta:
        model = TagCorrection
        fields = ["review_note"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and self.instance.action == TagCorrection.Action.FIELD:
            self.fields["decision"].choices = [
                ("", "请选择审核结论"),
                ("approve", "采纳：登记信息已在企业信息中（或由登记部门）更正"),
                ("reject", "不采纳"),
            ]
            self.fields["decision"].help_text = "登记信息纠错不会自动修改数据：请先更正企业信息，再选择采纳。"


@admin.register(TagCorrection)
class TagCorrectionAdmin(admin.ModelAdmin):
    """纠错 queue: a tag correction, once approved, changes the firm's tag through the register's service, with
    provenance; a register correction (region, size, industry, founding date) is corrected at its source first."""

    form = CorrectionForm
    list_display = ["created_at", "waited", "enterprise", "action", "subject_words", "requested_value", "status"]
    list_filter = ["status", "action", "field"]
    list_select_related = ["enterprise", "tag"]
    search_fields = ["enterprise__name", "enterprise__uscc", "tag__name"]
    readonly_fields = [
        "enterprise_link", "tag", "action", "field", "current_tag", "current_value", "requested_value", "reason",
        "created_at", "status", "reviewed_by", "reviewed_at",
    ]  # fmt: skip

    @admin.display(description="等待时长", ordering="created_at")
    def waited(self, obj: TagCorrection):
        if obj.status != TagCorrection.Status.PENDING:
            return "已审核"
        return wait_cell(queues.queue_wait(kind=queues.CORRECTION, received_at=obj.created_at))

    @admin.display(description="企业是否已有该标签")
    def current_tag(self, obj: TagCorrection) -> str:
        link = EnterpriseTag.objects.filter(enterprise_id=obj.enterprise_id, tag_id=obj.tag_id).first()
        return "没有" if link is None else f"已有（来源：{link.get_source_display()}）"

    @admin.display(description="纠错对象")
    def subject_words(self, obj: TagCorrection) -> str:
        return obj.subject

    @admin.display(description="企业")
    def enterprise_link(self, obj: TagCorrection) -> str:
        url = reverse("admin:enterprises_enterprise_change", args=[obj.enterprise_id])
        return format_html('<a href="{}">{}</a>（{}）', url, obj.enterprise.name, obj.enterprise.uscc)

    def get_queryset(self, request):
        # A correction concerns a firm's tags, not a policy: it belongs to the firm's district. Department
        # staff who are not a district's have none to review.
        scope = scope_for(request.user)
        queryset = super().get_queryset(request).filter(scope.enterprise_q("enterprise__"))
        return queryset.none() if scope.department_id is not None and scope.region_id is None else queryset

    def get_fields(self, request, obj=None):
        if obj and obj.action == TagCorrection.Action.FIELD:
            fields = ["enterprise_link", "action", "field", "tag", "current_value", "requested_value", "reason"]
        else:
            fields = ["enterprise_link", "tag", "action", "current_tag", "reason"]
        fields += ["created_at", "status"]
        if obj and obj.status == TagCorrection.Status.PENDING:
            return [*fields, "decision", "review_note"]
        return [*fields, "review_note", "reviewed_by", "reviewed_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj and obj.status != TagCorrection.Status.PENDING:
            return [*self.readonly_fields, "review_note"]
        return self.readonly_fields

    def has_add_permission(self, request):
        return False

    def save_model(self, request, obj, form, change):
        try:
            correction_review(
                correction=obj,
                user=request.user,
                approve=form.cleaned_data.get("decision") == "approve",
                note=form.cleaned_data.get("review_note", ""),
            )
        except (ValidationError, PermissionDenied) as exc:
            self.message_user(request, " ".join(getattr(exc, "messages", [str(exc)])), messages.ERROR)
