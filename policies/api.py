"""Read API for policies and their reference data (DRF + django-filter, documented by drf-spectacular)."""

from __future__ import annotations

import datetime

import django_filters
from django.db.models import F, Q
from django.utils import timezone
from rest_framework import serializers, viewsets

from core.models import Region
from policies import selectors
from policies.models import Department, Policy, PolicyLabel, Window, window_q


class RegionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["code", "name"]


class DepartmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Department
        fields = ["code", "name", "level"]


class PolicyLabelSerializer(serializers.ModelSerializer):
    category_code = serializers.CharField(source="category.code")
    category_name = serializers.CharField(source="category.name")

    class Meta:
        model = PolicyLabel
        fields = ["code", "name", "category_code", "category_name"]


class PolicyListSerializer(serializers.ModelSerializer):
    level_display = serializers.CharField(source="get_level_display")
    status_display = serializers.CharField(source="get_status_display")
    delivery_display = serializers.CharField(source="get_delivery_display")
    region = RegionSerializer(allow_null=True)
    departments = DepartmentSerializer(many=True)
    labels = PolicyLabelSerializer(many=True)
    window_open = serializers.SerializerMethodField()

    class Meta:
        model = Policy
        fields = [
            "id", "title", "short_title", "doc_number", "level", "level_display", "status", "status_display",
            "region", "departments", "labels", "summary", "max_amount", "delivery", "delivery_display",
            "apply_start", "apply_end", "valid_from", "valid_until", "window_open", "published_at",
        ]  # fmt: skip

    def get_window_open(self, obj: Policy) -> bool:
        return obj.is_window_open()


class PolicyDetailSerializer(PolicyListSerializer):
    class Meta(PolicyListSerializer.Meta):
        fields = PolicyListSerializer.Meta.fields + [
            "full_text", "beneficiaries", "conditions", "support_standard", "materials", "steps",
            "contact_office", "contact_phone", "contact_address", "apply_url", "interpretation", "video_url",
        ]  # fmt: skip


MAX_DEADLINE_DAYS = 3650  # "closing within N days" beyond ten years means nothing (and overflows a date)
SORTS = [("deadline", "截止日期最近"), ("newest", "最新发布"), ("amount", "扶持金额最高")]
# Within each window state (open, not yet open, closed: see ``selectors.policies_open_first``).
SORT_ORDER = {
    "deadline": [F("apply_end").asc(nulls_last=True), "-id"],
    "newest": [F("published_at").desc(nulls_last=True), "-id"],
    "amount": [F("max_amount").desc(nulls_last=True), "-id"],
}
ALL_WINDOWS = "all"
WINDOWS = [(ALL_WINDOWS, "全部"), (Window.OPEN, "可申报"), (Window.UPCOMING, "未开始"), (Window.CLOSED, "已截止")]
# Filters that take a code or a name (KJCX01 or 高新技术企业认定奖励, 320214 or 新吴区).
BY_CODE_OR_NAME = {
    "label": "labels",
    "label_category": "labels__category",
    "department": "departments",
    "region": "region",
}
MAX_SEARCH_WORDS = 8


class PolicyFilter(django_filters.FilterSet):
    level = django_filters.MultipleChoiceFilter(choices=Policy.Level.choices, label="层级")
    status = django_filters.MultipleChoiceFilter(choices=Policy.Status.choices, label="状态（仅工作人员）")
    delivery = django_filters.MultipleChoiceFilter(choices=Policy.Delivery.choices, label="兑现方式")
    label = django_filters.CharFilter(method="filter_code_or_name", label="政策标签（名称或编码，如 研发费用补助）")
    label_category = django_filters.CharFilter(
        method="filter_code_or_name", label="政策标签大类（名称或编码，如 科技创新）"
    )
    department = django_filters.CharFilter(method="filter_code_or_name", label="发文部门（名称或编码）")
    region = django_filters.CharFilter(method="filter_code_or_name", label="区域（名称或区划代码，如 新吴区）")
    window = django_filters.ChoiceFilter(
        choices=WINDOWS, method="filter_window", label="申报状态", empty_label=None, null_label=None
    )
    window_open = django_filters.BooleanFilter(method="filter_window_open", label="申报窗口是否开放")
    deadline_within = django_filters.NumberFilter(
        method="filter_deadline_within", label="几天内截止", min_value=0, max_value=MAX_DEADLINE_DAYS
    )
    q = django_filters.CharFilter(
        method="filter_text", label="关键词（标题、文号、摘要、扶持标准、标签；支持简称，如 高企）"
    )
    sort = django_filters.ChoiceFilter(
        choices=SORTS, method="filter_sort", label="排序（可申报的在前，已截止的在后）", empty_label="默认顺序"
    )

    class Meta:
        model = Policy
        fields = ["level", "status", "delivery", "label", "label_category", "department", "region"]

    def filter_code_or_name(self, queryset, name, value):
        relation = BY_CODE_OR_NAME[name]
        value = value.strip()
        return queryset.filter(Q(**{f"{relation}__code": value}) | Q(**{f"{relation}__name": value}))

    def filter_window(self, queryset, name, value):
        if value == ALL_WINDOWS:
            return queryset
        return queryset.filter(window_q(value, timezone.localdate()))

    def filter_window_open(self, queryset, name, value):
        condition = window_q(Window.OPEN, timezone.localdate())
        return queryset.filter(condition) if value else queryset.exclude(condition)

    def filter_deadline_within(self, queryset, name, value):
        today = timezone.localdate()
        return queryset.filter(apply_end__gte=today, apply_end__lte=today + datetime.timedelta(days=int(value)))

    def filter_text(self, queryset, name, value):
        # Substring matching works for Chinese without word segmentation. Every word must match somewhere,
        # the word itself or one of its synonyms (高企 → 高新技术企业), which staff keep in the admin.
        for word in value.split()[:MAX_SEARCH_WORDS]:
            matches = Q()
            for term in selectors.search_words(word=word):
                matches |= (
                    Q(title__icontains=term)
                    | Q(short_title__icontains=term)
                    | Q(doc_number__icontains=term)
                    | Q(summary__icontains=term)
                    | Q(support_standard__icontains=term)
                    | Q(labels__name__icontains=term)
                )
            queryset = queryset.filter(pk__in=Policy.objects.filter(matches).values("pk"))
        return queryset

    def filter_sort(self, queryset, name, value):
        return selectors.policies_open_first(queryset, *SORT_ORDER[value])


class PolicyViewSet(viewsets.ReadOnlyModelViewSet):
    """Published policies for everyone; staff with view permission also see drafts and pending ones."""

    token_scopes = {"GET": "policies:read"}

    filterset_class = PolicyFilter

    def get_queryset(self):
        staff = self.request.user.has_perm("policies.view_policy")
        return selectors.policy_list(include_unpublished=staff).distinct()

    def get_serializer_class(self):
        return PolicyDetailSerializer if self.action == "retrieve" else PolicyListSerializer


class PolicyLabelViewSet(viewsets.ReadOnlyModelViewSet):
    token_scopes = {"GET": "policies:read"}
    queryset = PolicyLabel.objects.filter(is_active=True).select_related("category")
    serializer_class = PolicyLabelSerializer
    lookup_field = "code"
    filterset_fields = {"category__code": ["exact"], "name": ["icontains"]}


class DepartmentViewSet(viewsets.ReadOnlyModelViewSet):
    token_scopes = {"GET": "policies:read"}
    queryset = Department.objects.all()
    serializer_class = DepartmentSerializer
    lookup_field = "code"
    filterset_fields = ["level"]
    pagination_class = None


class RegionViewSet(viewsets.ReadOnlyModelViewSet):
    token_scopes = {"GET": "policies:read"}
    queryset = Region.objects.all()
    serializer_class = RegionSerializer
    lookup_field = "code"
    pagination_class = None
