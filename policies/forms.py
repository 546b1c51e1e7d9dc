"""The policy's change form in the admin: content fields, the rule builder, and their cross-field checks."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError

from policies.audience_rules import validate_rule
from policies.models import Policy
from policies.rule_builder import RuleBuilderFields


class LinesField(forms.CharField):
    """Edits a JSON list of strings as a textarea, one item per line."""

    widget = forms.Textarea(attrs={"rows": 5, "cols": 80})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        return [line.strip() for line in text.splitlines() if line.strip()]


class PolicyAdminForm(RuleBuilderFields, forms.ModelForm):
    materials = LinesField(label="申报材料", required=False, help_text="每行一项。")
    steps = LinesField(label="办理流程", required=False, help_text="按顺序每行一步。")
    apply_url = forms.URLField(label="在线申报地址", required=False, assume_scheme="https")
    video_url = forms.URLField(label="解读视频", required=False, assume_scheme="https")

    class Meta:
        model = Policy
        # The workflow fields (status, review note, …) change only through the review services.
        fields = [
            "title", "short_title", "doc_number", "level", "region", "departments", "labels", "summary",
            "beneficiaries", "conditions", "support_standard", "max_amount", "delivery", "materials", "steps",
            "apply_url", "apply_start", "apply_end", "valid_from", "valid_until", "contact_office", "contact_phone",
            "contact_address", "interpretation", "video_url", "full_text", "audience_rule",
        ]  # fmt: skip

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.share_tag_options()
        self.load_rule(self.instance.audience_rule or {"all": []})

    def clean(self):
        data = super().clean()
        rule = self.composed_rule(data)
        try:
            data["audience_rule"] = validate_rule(rule)
        except ValidationError as exc:
            self.add_error("audience_rule", exc.messages[0])
        if data.get("level") == Policy.Level.DISTRICT and not data.get("region"):
            self.add_error("region", "区级政策请选择适用区域。")
        start, end = data.get("apply_start"), data.get("apply_end")
        if start and end and end < start:
            self.add_error("apply_end", "申报截止日期不能早于申报开始日期。")
        valid_from, valid_until = data.get("valid_from"), data.get("valid_until")
        if valid_from and valid_until and valid_until < valid_from:
            self.add_error("valid_until", "有效期止不能早于有效期起。")
        return data
