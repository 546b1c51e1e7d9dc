"""The rule builder: the audience rule's common shape as plain choices, for staff who should not have to
write JSON.

``compose`` turns the choices into a rule; ``decompose`` reads a rule back into choices when it has that
shape (other rules stay editable as raw JSON). ``RuleBuilderFields`` is the form both the policy's change
page and the live audience count (``matching.views.rule_builder_preview``) use, so the count is always
that of the rule saving would store.
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib.admin.widgets import FilteredSelectMultiple
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join

from core.models import Region
from enterprises.models import Enterprise, PortraitTag

RANGES = {"age_years": "age", "employees": "employees", "registered_capital": "capital", "annual_revenue": "revenue"}


def compose(choices: dict) -> dict:
    parts: list[dict] = [{"tag": code} for code in choices.get("required_tags", [])]
    any_tags = choices.get("any_tags", [])
    if any_tags:
        parts.append({"any": [{"tag": code} for code in any_tags]})
    parts += [{"not": {"tag": code}} for code in choices.get("excluded_tags", [])]
    if choices.get("regions"):
        parts.append({"field": "region", "op": "in", "value": list(choices["regions"])})
    if choices.get("sizes"):
        parts.append({"field": "size_class", "op": "in", "value": list(choices["sizes"])})
    prefixes = [p.strip().upper() for p in choices.get("industries", []) if p.strip()]
    if prefixes:
        leaves = [{"field": "industry", "op": "prefix", "value": p} for p in prefixes]
        parts.append(leaves[0] if len(leaves) == 1 else {"any": leaves})
    for field, key in RANGES.items():
        low, high = choices.get(f"{key}_min"), choices.get(f"{key}_max")
        low, high = _plain(low), _plain(high)
        if low is not None and high is not None:
            parts.append({"field": field, "op": "between", "value": [low, high]})
        elif low is not None:
            parts.append({"field": field, "op": "gte", "value": low})
        elif high is not None:
            parts.append({"field": field, "op": "lte", "value": high})
    return {"all": parts}


def decompose(rule: dict) -> dict | None:
    """Choices that compose back to ``rule``, or None when the rule has another shape."""
    if not isinstance(rule, dict) or set(rule) != {"all"}:
        return None
    choices: dict = {"required_tags": [], "any_tags": [], "excluded_tags": [], "regions": [], "sizes": [],
                     "industries": []}  # fmt: skip
    for part in rule["all"]:
        if set(part) == {"tag"}:
            choices["required_tags"].append(part["tag"])
        elif set(part) == {"any"} and part["any"] and all(set(p) == {"tag"} for p in part["any"]):
            choices["any_tags"] = [p["tag"] for p in part["any"]]
        elif set(part) == {"not"} and set(part["not"]) == {"tag"}:
            choices["excluded_tags"].append(part["not"]["tag"])
        elif part.get("field") == "region" and part.get("op") == "in":
            choices["regions"] = part["value"]
        elif part.get("field") == "size_class" and part.get("op") == "in":
            choices["sizes"] = part["value"]
        elif part.get("field") == "industry" and part.get("op") == "prefix":
            choices["industries"] = [part["value"]]
        elif set(part) == {"any"} and all(
            p.get("field") == "industry" and p.get("op") == "prefix" for p in part["any"]
        ):
            choices["industries"] = [p["value"] for p in part["any"]]
        elif part.get("field") in RANGES and part.get("op") in {"gte", "lte", "between"}:
            key = RANGES[part["field"]]
            value = part["value"]
            if part["op"] == "between":
                choices[f"{key}_min"], choices[f"{key}_max"] = value
            else:
                choices[f"{key}_{'min' if part['op'] == 'gte' else 'max'}"] = value
        else:
            return None
    return choices if compose(choices) == rule else None


def _plain(value):
    if value is None or value == "":
        return None
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)


# Options are labelled "category·name": fetch the category with each tag, or three pickers cost 1,000 queries.
_TAGS = PortraitTag.objects.filter(is_active=True).select_related("category").order_by("category__sort_order", "code")


class TagPicker(FilteredSelectMultiple):
    """The admin's two-box picker, its ~330 options written in one pass. Rendered the usual way, one
    template per option, the three pickers took most of the policy page's rendering time."""

    def optgroups(self, name, value, attrs=None):
        return []  # render writes the options

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        chosen = set(widget["value"])
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((v, " selected" if str(v) in chosen else "", label) for v, label in self.choices),
        )
        return format_html('<select name="{}"{}>{}</select>', name, flatatt(widget["attrs"]), options)


class RuleBuilderFields(forms.Form):
    """The audience rule's common shape as plain choices, plus the raw JSON for anything else."""

    rule_required_tags = forms.ModelMultipleChoiceField(
        label="必须具备的标签", queryset=_TAGS, to_field_name="code",
        required=False, widget=TagPicker("必备标签", is_stacked=False),
    )  # fmt: skip
    rule_any_tags = forms.ModelMultipleChoiceField(
        label="具备其一即可的标签", queryset=_TAGS, to_field_name="code",
        required=False, widget=TagPicker("其一标签", is_stacked=False),
    )  # fmt: skip
    rule_excluded_tags = forms.ModelMultipleChoiceField(
        label="排除的标签", queryset=_TAGS, to_field_name="code",
        required=False, widget=TagPicker("排除标签", is_stacked=False),
    )  # fmt: skip
    rule_regions = forms.ModelMultipleChoiceField(
        label="限定区域", queryset=Region.objects.filter(parent__isnull=False), to_field_name="code", required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    rule_sizes = forms.MultipleChoiceField(
        label="企业规模", choices=Enterprise.Size.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    rule_industries = forms.CharField(
        label="行业代码前缀", required=False, help_text="GB/T 4754，逗号分隔，如 C39, I65；留空为不限。"
    )
    rule_age_min = forms.IntegerField(label="成立年限不少于（年）", required=False, min_value=0)
    rule_age_max = forms.IntegerField(label="成立年限不超过（年）", required=False, min_value=0)
    rule_employees_min = forms.IntegerField(label="从业人数不少于", required=False, min_value=0)
    rule_employees_max = forms.IntegerField(label="从业人数不超过", required=False, min_value=0)
    rule_capital_min = forms.DecimalField(label="注册资本不少于（万元）", required=False, min_value=0)
    rule_capital_max = forms.DecimalField(label="注册资本不超过（万元）", required=False, min_value=0)
    rule_revenue_min = forms.DecimalField(label="营业收入不少于（万元）", required=False, min_value=0)
    rule_revenue_max = forms.DecimalField(label="营业收入不超过（万元）", required=False, min_value=0)
    rule_advanced = forms.BooleanField(
        label="高级：直接编辑 JSON", required=False,
        help_text="勾选后以下方 JSON 为准，上方选项不再生效；不勾选时 JSON 随上方选项自动生成（只读）。",
    )  # fmt: skip
    audience_rule = forms.JSONField(
        label="受众规则（JSON）", required=False, widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="{\"all\": []} 表示全部企业。",
    )  # fmt: skip

    BUILDER = ["rule_required_tags", "rule_any_tags", "rule_excluded_tags", "rule_regions", "rule_sizes",
               "rule_industries", "rule_age_min", "rule_age_max", "rule_employees_min", "rule_employees_max",
               "rule_capital_min", "rule_capital_max", "rule_revenue_min", "rule_revenue_max"]  # fmt: skip

    TAG_FIELDS = ["rule_required_tags", "rule_any_tags", "rule_excluded_tags"]

    def share_tag_options(self) -> None:
        """Load the tag options once for the three pickers of a page (each field would query its own)."""
        options = [(tag.code, str(tag)) for tag in _TAGS.all()]
        for name in self.TAG_FIELDS:
            self.fields[name].choices = options

    def load_rule(self, rule: dict) -> None:
        """Show an existing rule in the builder when it has the builder's shape."""
        self.fields["audience_rule"].initial = rule
        choices = decompose(rule)
        # A rule the builder cannot show stays editable as JSON, and saving keeps it as it is.
        self.fields["rule_advanced"].initial = choices is None
        choices = choices or {}
        for key, value in choices.items():
            name = {"required_tags": "rule_required_tags", "any_tags": "rule_any_tags",
                    "excluded_tags": "rule_excluded_tags", "regions": "rule_regions", "sizes": "rule_sizes",
                    "industries": "rule_industries"}.get(key, f"rule_{key}")  # fmt: skip
            self.fields[name].initial = ", ".join(value) if name == "rule_industries" else value

    def composed_rule(self, data: dict) -> dict:
        """The rule saving stores: the JSON when "advanced" is ticked, otherwise the builder's choices."""
        if data.get("rule_advanced"):
            return data.get("audience_rule") or {"all": []}
        tags = lambda name: [t.code for t in data.get(name) or []]  # noqa: E731
        return compose(
            {
                "required_tags": tags("rule_required_tags"),
                "any_tags": tags("rule_any_tags"),
                "excluded_tags": tags("rule_excluded_tags"),
                "regions": [r.code for r in data.get("rule_regions") or []],
                "sizes": data.get("rule_sizes") or [],
                "industries": (data.get("rule_industries") or "").replace("，", ",").split(","),
                **{key.removeprefix("rule_"): data.get(key) for key in self.BUILDER if key.endswith(("_min", "_max"))},
            }
        )
