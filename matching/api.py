"""Matching API: audiences for staff; an enterprise's package, near-misses and explanations (itself or staff)."""

from __future__ import annotations

import datetime
import re

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from enterprises.identity import may_see_enterprise
from enterprises.models import Enterprise
from matching import selectors
from policies.audience_rules import validate_rule
from policies.models import Policy


class CanViewAudiences(permissions.BasePermission):
    message = "只有可查看政策的工作人员能查询受众。"

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.has_perm("policies.view_policy"))


class DryRunSerializer(serializers.Serializer):
    rule = serializers.JSONField(help_text='受众规则，如 {"all": [{"tag": "QUAL01"}]}')
    on = serializers.DateField(required=False, help_text="评估日期（默认今天），影响成立年限等")
    sample = serializers.IntegerField(required=False, min_value=0, max_value=100, default=10)

    def validate_rule(self, value):
        try:
            return validate_rule(value)
        except ValidationError as exc:
            raise serializers.ValidationError(exc.messages[0]) from None


class AudienceSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    by_region = serializers.DictField(child=serializers.IntegerField())
    by_size = serializers.DictField(child=serializers.IntegerField())
    sample = serializers.ListField(child=serializers.DictField())


def _audience_body(audience) -> dict:
    return {"count": audience.count, "by_region": audience.by_region, "by_size": audience.by_size,
            "sample": audience.sample}  # fmt: skip


class DryRunView(APIView):
    """How many firms a rule reaches, before it is saved."""

    permission_classes = [CanViewAudiences]

    @extend_schema(request=DryRunSerializer, responses=AudienceSerializer)
    def post(self, request):
        payload = DryRunSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        audience = selectors.audience_for_rule(rule=data["rule"], on=data.get("on"), sample=data["sample"])
        return Response(_audience_body(audience))


class PolicyAudienceView(APIView):
    permission_classes = [CanViewAudiences]

    @extend_schema(responses=AudienceSerializer)
    def get(self, request, pk: int):
        policy = get_object_or_404(Policy, pk=pk)
        return Response(_audience_body(selectors.audience_for_policy(policy=policy)))


class LeafSerializer(serializers.Serializer):
    description = serializers.CharField()
    state = serializers.CharField(help_text="满足 / 不满足 / 数据缺失")
    actual = serializers.CharField()
    required = serializers.CharField()


USCC_SHAPE = re.compile(r"[0-9A-Za-z]{18}")  # the shape every code has; the checksum is not a secret either
EARLIEST_ON, LATEST_ON = datetime.date(1900, 1, 1), datetime.date(2100, 12, 31)


def _enterprise(request, uscc: str) -> Enterprise:
    if not USCC_SHAPE.fullmatch(uscc):
        raise serializers.ValidationError({"detail": "统一社会信用代码应为 18 位数字或字母。"})
    enterprise = Enterprise.objects.filter(uscc=uscc.upper()).only("id", "uscc", "name").first()
    if enterprise is None or not may_see_enterprise(request, enterprise.id):
        # The same answer whether the enterprise is missing or belongs to someone else.
        raise PermissionDenied("无权查看该企业的信息。")
    return enterprise


def _on(request) -> datetime.date | None:
    raw = request.query_params.get("on")
    try:
        on = datetime.date.fromisoformat(raw) if raw else None
    except ValueError:
        raise serializers.ValidationError({"on": "日期格式应为 YYYY-MM-DD。"}) from None
    if on is not None and not EARLIEST_ON <= on <= LATEST_ON:
        raise serializers.ValidationError({"on": f"评估日期应在 {EARLIEST_ON} 至 {LATEST_ON} 之间。"})
    return on


class PackageView(APIView):
    """The enterprise's policy package and near-misses (the enterprise itself, or staff)."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(parameters=[OpenApiParameter("on", str, description="评估日期 YYYY-MM-DD")])
    def get(self, request, uscc: str):
        enterprise = _enterprise(request, uscc)
        on = _on(request)
        package = selectors.package_for_enterprise(enterprise_id=enterprise.id, on=on)
        misses = selectors.near_misses_for_enterprise(enterprise_id=enterprise.id, on=on)
        return Response(
            {
                "enterprise": {"uscc": enterprise.uscc, "name": enterprise.name},
                "package": [
                    {
                        "policy_id": item.policy.id,
                        "title": item.policy.title,
                        "level": item.policy.level,
                        "delivery": item.policy.delivery,
                        "apply_end": item.policy.apply_end,
                        "window_open": item.window_open,
                        "days_left": item.days_left,
                        "max_amount": item.policy.max_amount,
                        "reasons": LeafSerializer(item.reasons, many=True).data,
                    }
                    for item in package
                ],
                "near_misses": [
                    {"policy_id": m.policy.id, "title": m.policy.title, "missing": m.missing, "message": m.message}
                    for m in misses
                ],
            }
        )


class ExplainView(APIView):
    """Why an enterprise does or does not qualify for one policy, condition by condition."""

    permission_classes = [permissions.AllowAny]

    @extend_schema(parameters=[OpenApiParameter("on", str, description="评估日期 YYYY-MM-DD")])
    def get(self, request, uscc: str, policy_id: int):
        enterprise = _enterprise(request, uscc)
        policy = get_object_or_404(Policy, pk=policy_id, status=Policy.Status.PUBLISHED)
        explanation = selectors.explain_match(enterprise_id=enterprise.id, policy=policy, on=_on(request))
        return Response(
            {
                "qualifies": explanation.qualifies,
                "state": explanation.state,
                "conditions": LeafSerializer(explanation.leaves, many=True).data,
            },  # fmt: skip
            status=status.HTTP_200_OK,
        )
