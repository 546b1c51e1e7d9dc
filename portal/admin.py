"""Staff queues for what firms send from the portal: 好差评 to follow up and reply, 纠错 to review."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError

from policies.scope import scope_for
from portal.models import PolicyRating, TagCorrection
from portal.services.corrections import correction_review
from portal.services.feedback import rating_follow_up


class RatingForm(forms.ModelForm):
    class Meta:
        model = PolicyRating
        fields = ["status", "reply"]


@admin.register(PolicyRating)
class PolicyRatingAdmin(admin.ModelAdmin):
    """好差评 loop: received → handled → replied; the reply is shown to the firm on its pages."""

    form = RatingForm
    list_display = ["created_at", "rating", "policy", "enterprise", "short_comment", "status"]
    list_filter = ["status", "rating"]
    list_select_related = ["policy", "enterprise"]
    search_fields = ["policy__title", "enterprise__name", "comment"]
    readonly_fields = ["enterprise", "policy", "rating", "comment", "created_at", "handled_by", "handled_at"]
    fields = ["enterprise", "policy", "rating", "comment", "created_at", "status", "reply", "handled_by", "handled_at"]

    def get_queryset(self, request):
        # District staff: ratings from their district's firms; department staff: ratings of their policies.
        scope = scope_for(request.user)
        return super().get_queryset(request).filter(scope.enterprise_q("enterprise__"), scope.policy_q("policy__"))

    @admin.display(description="意见")
    def short_comment(self, obj: PolicyRating) -> str:
        return obj.comment[:30]

    def has_add_permission(self, request):
        return False  # ratings come from enterprises

    def has_delete_permission(self, request, obj=None):
        return False  # a rating is a record of what an enterprise said: followed up and answered, never deleted

    def save_model(self, request, obj, form, change):
        try:
            rating_follow_up(rating=obj, user=request.user, status=obj.status, reply=obj.reply)
        except (ValidationError, PermissionDenied) as exc:
            self.message_user(request, " ".join(getattr(exc, "messages", [str(exc)])), messages.ERROR)


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


@admin.register(TagCorrection)
class TagCorrectionAdmin(admin.ModelAdmin):
    """纠错 queue: approving changes the firm's tag through the register's service, with provenance."""

    form = CorrectionForm
    list_display = ["created_at", "enterprise", "tag", "action", "status"]
    list_filter = ["status", "action"]
    list_select_related = ["enterprise", "tag"]
    search_fields = ["enterprise__name", "enterprise__uscc", "tag__name"]
    readonly_fields = ["enterprise", "tag", "action", "reason", "created_at", "status", "reviewed_by", "reviewed_at"]

    def get_queryset(self, request):
        # A correction concerns a firm's tags, not a policy: it belongs to the firm's district. Department
        # staff who are not a district's have none to review.
        scope = scope_for(request.user)
        queryset = super().get_queryset(request).filter(scope.enterprise_q("enterprise__"))
        return queryset.none() if scope.department_id is not None and scope.region_id is None else queryset

    def get_fields(self, request, obj=None):
        fields = ["enterprise", "tag", "action", "reason", "created_at", "status"]
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
