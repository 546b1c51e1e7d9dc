"""Staff pages' helpers that need the matching engine: the live audience count beside the rule builder."""

from __future__ import annotations

from django.contrib.admin.views.decorators import staff_member_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import JsonResponse
from django.views.decorators.http import require_POST

from matching.selectors import audience_for_rule, suggested_tags
from policies.audience_rules import validate_rule
from policies.rule_builder import RuleBuilderFields


@staff_member_required
@require_POST
def rule_builder_preview(request):
    """The audience of the rule the policy form would store now (the same composition the save uses)."""
    if not request.user.has_perm("policies.view_policy"):
        raise PermissionDenied
    form = RuleBuilderFields(request.POST)
    form.is_valid()  # the builder fields are all optional; bad numbers are simply left out
    data = {k: v for k, v in form.cleaned_data.items() if k not in form.errors}
    try:
        rule = validate_rule(form.composed_rule(data))
    except ValidationError as exc:
        return JsonResponse({"error": exc.messages[0]}, status=400)
    audience = audience_for_rule(rule=rule, sample=5)
    label_ids = [int(x) for x in request.POST.getlist("labels") if x.isascii() and x.isdigit()]
    return JsonResponse(
        {"count": audience.count, "sample": audience.sample, "rule": rule, "suggested_tags": suggested_tags(label_ids)}
    )
