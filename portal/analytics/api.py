"""Analytics API for staff: the push funnel, policy coverage and the overdue queue items, each within the
caller's staff scope (a district account asking for another district is refused with 403)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from policies.models import Level
from policies.scope import scope_for
from portal.analytics.queues import QUEUE_KINDS
from portal.analytics.selectors import coverage, funnel, supervision


class IsStaff(permissions.BasePermission):
    message = "只有工作人员可以查看数据看板。"

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and user.is_staff)


class FunnelQuery(serializers.Serializer):
    campaign = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1, help_text="推送批次 id")
    policy = serializers.IntegerField(required=False, min_value=1, max_value=2**63 - 1, help_text="政策 id")
    department = serializers.CharField(required=False, max_length=40, help_text="发文部门编码，如 WX-IIT")
    region = serializers.CharField(required=False, max_length=12, help_text="区划代码，如 320214")
    level = serializers.ChoiceField(required=False, choices=Level.choices, help_text="政策层级")
    since = serializers.DateField(required=False, help_text="推送日期起（含）")
    until = serializers.DateField(required=False, help_text="推送日期止（含）")


class StageSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="qualified / sent / delivered / opened / interested / applied …")
    label = serializers.CharField()
    count = serializers.IntegerField(help_text="到达该环节的企业数（去重）")
    rate = serializers.FloatField(allow_null=True, help_text="相对上一环节的转化率")
    of_qualified = serializers.FloatField(allow_null=True, help_text="相对符合条件企业的比例")


class BreakdownSerializer(serializers.Serializer):
    name = serializers.CharField()
    counts = serializers.DictField(child=serializers.IntegerField())


class RegionBreakdownSerializer(BreakdownSerializer):
    region = serializers.CharField()


class SizeBreakdownSerializer(BreakdownSerializer):
    size = serializers.CharField()


class DaySerializer(serializers.Serializer):
    day = serializers.DateField()
    counts = serializers.DictField(child=serializers.IntegerField())


class FunnelSerializer(serializers.Serializer):
    stages = StageSerializer(many=True)
    pushes = serializers.IntegerField(help_text="涉及的推送批次数")
    by_region = RegionBreakdownSerializer(many=True)
    by_size = SizeBreakdownSerializer(many=True, help_text="按短信计（同一企业在多个批次中分别计数）")
    daily = DaySerializer(many=True, help_text="每日新增，按批次计")
    open_by_hour = serializers.ListField(child=serializers.IntegerField(), help_text="发送后第 n 小时首次打开数")


def checked(serializer_class, data) -> dict:
    payload = serializer_class(data=data)
    payload.is_valid(raise_exception=True)
    return payload.validated_data


class FunnelView(APIView):
    """Qualifying firms → SMS sent → delivered → link opened → 感兴趣 → 已申报 (→ 兑现 stages when they exist):
    distinct firms at each stage, each stage a subset of the one before."""

    permission_classes = [IsStaff]

    @extend_schema(parameters=[FunnelQuery], responses=FunnelSerializer)
    def get(self, request):
        query = checked(FunnelQuery, request.query_params)
        scope = scope_for(request.user)
        try:
            filters = funnel.funnel_filter_check(scope=scope, **query)
        except DjangoValidationError as exc:
            raise ValidationError({"detail": exc.messages}) from None
        return Response(funnel.funnel_for(scope=scope, filters=filters))


class OverdueQuery(serializers.Serializer):
    light = serializers.ChoiceField(required=False, choices=[("red", "超期"), ("yellow", "临期"), ("green", "正常")])
    kind = serializers.CharField(
        required=False,
        max_length=40,
        help_text="rating_bad（差评）/ rating（好评）/ correction（纠错）/ objection（公示异议）/ "
        "application（申报办理）",
    )
    limit = serializers.IntegerField(required=False, min_value=1, max_value=5000, default=500)


class QueueItemSerializer(serializers.Serializer):
    kind = serializers.CharField()
    kind_label = serializers.CharField()
    id = serializers.IntegerField()
    title = serializers.CharField()
    created_on = serializers.DateField()
    deadline = serializers.DateField(help_text="按工作日计算的办理期限（含法定节假日与调休）")
    light = serializers.ChoiceField(choices=["green", "yellow", "red"])
    light_label = serializers.CharField()
    owner = serializers.CharField(help_text="责任部门；标签纠错为企业所在区县")
    department = serializers.CharField()
    region = serializers.CharField()
    url = serializers.CharField(help_text="管理后台的办理页面")


class OverdueSerializer(serializers.Serializer):
    counts = serializers.DictField(child=serializers.IntegerField(), help_text="各灯色待办数")
    total = serializers.IntegerField()
    items = QueueItemSerializer(many=True)


class OverdueView(APIView):
    """Open items of every staff queue (好差评 to reply, 纠错 to review, and kinds other apps add), each with its
    working-day deadline, light and owner; the most urgent first."""

    permission_classes = [IsStaff]

    @extend_schema(parameters=[OverdueQuery], responses=OverdueSerializer)
    def get(self, request):
        query = checked(OverdueQuery, request.query_params)
        if query.get("kind") and query["kind"] not in {k.key for k in QUEUE_KINDS}:
            raise ValidationError({"kind": [f"未知的待办类型，可选：{'、'.join(k.key for k in QUEUE_KINDS)}。"]})
        every = supervision.open_items(scope=scope_for(request.user), kind=query.get("kind"))
        counts = {"red": 0, "yellow": 0, "green": 0}
        for _, light in every:
            counts[str(light)] += 1
        items = [(item, light) for item, light in every if not query.get("light") or light == query["light"]]
        shown = [supervision.item_as_dict(item, light) for item, light in items[: query["limit"]]]
        body = {"counts": counts, "total": len(items), "items": shown}
        return Response(OverdueSerializer(body).data)


class PolicyCoverageSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    level = serializers.CharField()
    audience = serializers.IntegerField(help_text="符合条件的企业数")
    unknown = serializers.IntegerField(help_text="数据缺失、无法判断的企业数")
    missing = serializers.DictField(
        child=serializers.IntegerField(), help_text="{字段: 因缺失该字段而无法判断的企业数}"
    )
    share = serializers.FloatField(allow_null=True, help_text="占本范围企业的比例")


class CoverageSerializer(serializers.Serializer):
    on = serializers.DateField(help_text="计算日期")
    firms = serializers.IntegerField(help_text="本范围企业数")
    policies = PolicyCoverageSerializer(many=True)
    no_open_policy = serializers.IntegerField(help_text="没有任何在办政策覆盖的企业数")
    no_open_policy_by_region = serializers.DictField(child=serializers.IntegerField(), help_text="{区划代码: 企业数}")


class CoverageView(APIView):
    """Per open policy its audience, the firms it cannot decide for (数据缺失) and the missing fields behind them,
    and the firms no open policy reaches; within the caller's scope."""

    permission_classes = [IsStaff]

    @extend_schema(responses=CoverageSerializer)
    def get(self, request):
        found = coverage.coverage_for(scope=scope_for(request.user))
        codes = coverage.region_codes()
        by_region = {codes.get(r, ""): n for r, n in found["no_open_policy_by_region"].items()}
        body = {**found, "no_open_policy_by_region": by_region}
        return Response(CoverageSerializer(body).data)
