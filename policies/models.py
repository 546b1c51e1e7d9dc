"""Policies, their label taxonomy, and the departments that issue them."""

from __future__ import annotations

import datetime

from django.db import models
from django.utils import timezone
from simple_history.models import HistoricalRecords

from core.models import Region, TaxonomyCategory
from enterprises.validators import normalize_mobile, validate_mobile
from policies.audience_rules import validate_rule


def default_audience_rule() -> dict:
    """Every enterprise: an empty "all" is true."""
    return {"all": []}


class Level(models.TextChoices):
    NATIONAL = "national", "国家级"
    PROVINCIAL = "provincial", "省级"
    CITY = "city", "市级"
    DISTRICT = "district", "区级"


class Department(models.Model):
    """An issuing body (发文单位), at one of the four levels."""

    code = models.CharField("编码", max_length=40, unique=True)
    name = models.CharField("名称", max_length=100, unique=True)
    level = models.CharField("层级", max_length=10, choices=Level.choices)
    region = models.ForeignKey(Region, verbose_name="所属区域", null=True, blank=True, on_delete=models.PROTECT)

    class Meta:
        verbose_name = "发文部门"
        verbose_name_plural = "发文部门"
        ordering = ["level", "code"]

    def __str__(self) -> str:
        return self.name


class PolicyLabelCategory(TaxonomyCategory):
    class Meta(TaxonomyCategory.Meta):
        verbose_name = "政策标签大类"
        verbose_name_plural = "政策标签大类"


class PolicyLabel(models.Model):
    """A policy label sub-category (政策标签). Codes are stable: rules and subscriptions refer to them."""

    code = models.CharField("编码", max_length=20, unique=True)
    name = models.CharField("名称", max_length=50)
    category = models.ForeignKey(
        PolicyLabelCategory, verbose_name="大类", related_name="labels", on_delete=models.PROTECT
    )
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "政策标签"
        verbose_name_plural = "政策标签"
        ordering = ["category__sort_order", "code"]
        constraints = [models.UniqueConstraint(fields=["category", "name"], name="policy_label_unique_name")]

    def __str__(self) -> str:
        return f"{self.category.name}·{self.name}"


class Window(models.TextChoices):
    """An application window's state on a day."""

    OPEN = "open", "申报中"
    UPCOMING = "upcoming", "未开始"
    CLOSED = "closed", "已截止"


def application_window(apply_start: datetime.date | None, apply_end: datetime.date | None, on: datetime.date) -> str:
    """The one definition of "the application window is open": started (or no start) and not ended (or no
    end), both days inclusive. ``window_q`` is the same in SQL."""
    if apply_start is not None and on < apply_start:
        return Window.UPCOMING
    if apply_end is not None and on > apply_end:
        return Window.CLOSED
    return Window.OPEN


def window_q(state: str, on: datetime.date) -> models.Q:
    """Policies whose application window is in ``state`` on ``on`` (``application_window`` in SQL)."""
    started = models.Q(apply_start__isnull=True) | models.Q(apply_start__lte=on)
    not_ended = models.Q(apply_end__isnull=True) | models.Q(apply_end__gte=on)
    return {
        Window.OPEN: started & not_ended,
        Window.UPCOMING: models.Q(apply_start__gt=on),
        Window.CLOSED: models.Q(apply_end__lt=on),
    }[state]


class Policy(models.Model):
    Level = Level

    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        PENDING = "pending", "待审核"
        PUBLISHED = "published", "已发布"
        EXPIRED = "expired", "已过期"
        WITHDRAWN = "withdrawn", "已撤回"

    class Delivery(models.TextChoices):
        NO_APPLICATION = "no_application", "免申即享"
        INSTANT = "instant", "即申即享"
        REGULAR = "regular", "常规申报"

    title = models.CharField("政策名称", max_length=200)
    short_title = models.CharField("政策简称", max_length=40, blank=True, help_text="用于短信，建议 12 字以内。")
    doc_number = models.CharField("文号", max_length=100, blank=True)
    level = models.CharField("层级", max_length=10, choices=Level.choices)
    region = models.ForeignKey(
        Region, verbose_name="适用区域", null=True, blank=True, on_delete=models.PROTECT, help_text="区级政策必填。"
    )
    departments = models.ManyToManyField(Department, verbose_name="发文部门", related_name="policies")
    labels = models.ManyToManyField(PolicyLabel, verbose_name="政策标签", related_name="policies", blank=True)

    summary = models.TextField("政策摘要")
    full_text = models.TextField("政策原文", blank=True)
    beneficiaries = models.TextField("惠及对象", blank=True)
    conditions = models.TextField("申报条件", blank=True)
    support_standard = models.TextField("扶持标准", blank=True)
    max_amount = models.DecimalField("最高扶持金额（万元）", max_digits=12, decimal_places=2, null=True, blank=True)
    materials = models.JSONField("申报材料", default=list, blank=True, help_text="每行一项。")
    steps = models.JSONField("办理流程", default=list, blank=True, help_text="按顺序每行一步。")
    delivery = models.CharField("兑现方式", max_length=20, choices=Delivery.choices, default=Delivery.REGULAR)

    apply_start = models.DateField("申报开始", null=True, blank=True)
    apply_end = models.DateField("申报截止", null=True, blank=True)
    valid_from = models.DateField("有效期起", null=True, blank=True)
    valid_until = models.DateField("有效期至", null=True, blank=True)

    contact_office = models.CharField("咨询科室", max_length=100, blank=True)
    contact_phone = models.CharField("咨询电话", max_length=50, blank=True)
    contact_address = models.CharField("受理地址", max_length=200, blank=True)
    apply_url = models.URLField("在线申报地址", blank=True)

    interpretation = models.TextField("政策解读", blank=True, help_text="通俗易懂的解读文字。")
    video_url = models.URLField("解读视频", blank=True)

    audience_rule = models.JSONField(
        "受众规则",
        default=default_audience_rule,
        blank=True,
        help_text='JSON 规则树：{"all": [...]}、{"any": [...]}、{"not": ...}、{"tag": "QUAL01"}、'
        '{"field": "region", "op": "in", "value": ["320214"]}。{"all": []} 表示全部企业。',
    )
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.DRAFT, db_index=True)
    review_note = models.TextField("审核意见", blank=True)
    published_at = models.DateTimeField("发布时间", null=True, blank=True)
    created_by = models.ForeignKey(
        "auth.User", verbose_name="创建人", null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    history = HistoricalRecords(verbose_name="政策变更记录", excluded_fields=["updated_at"])

    class Meta:
        verbose_name = "政策"
        verbose_name_plural = "政策"
        ordering = ["-published_at", "-id"]
        permissions = [
            ("submit_policy", "可提交政策审核"),
            ("review_policy", "可审核并发布政策"),
            ("withdraw_policy", "可撤回已发布政策"),
        ]
        indexes = [models.Index(fields=["status", "apply_end"], name="policy_status_deadline")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(apply_start__isnull=True)
                | models.Q(apply_end__isnull=True)
                | models.Q(apply_end__gte=models.F("apply_start")),
                name="policy_apply_window_ordered",
                violation_error_message="申报截止日期不能早于申报开始日期。",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def clean(self):
        if not self.audience_rule:
            self.audience_rule = default_audience_rule()
        validate_rule(self.audience_rule)

    def window(self, on: datetime.date | None = None) -> str:
        return application_window(self.apply_start, self.apply_end, on or timezone.localdate())

    def is_window_open(self, on: datetime.date | None = None) -> bool:
        return self.window(on) == Window.OPEN

    def days_left(self, on: datetime.date | None = None) -> int | None:
        if self.apply_end is None:
            return None
        return (self.apply_end - (on or timezone.localdate())).days

    @property
    def sent_back(self) -> bool:
        """A draft a reviewer sent back (``sent_back_q`` in SQL): only sending back gives a draft a review
        note, which holds the reason until the editor submits again."""
        return self.status == self.Status.DRAFT and bool(self.review_note)

    def deadline_passed(self, on: datetime.date | None = None) -> bool:
        """Not yet published, yet its application deadline is already behind it (``deadline_passed_q``)."""
        return (
            self.status in UNPUBLISHED and self.apply_end is not None and self.apply_end < (on or timezone.localdate())
        )


UNPUBLISHED = (Policy.Status.DRAFT, Policy.Status.PENDING)


def sent_back_q() -> models.Q:
    """Drafts a reviewer sent back (``Policy.sent_back`` in SQL)."""
    return models.Q(status=Policy.Status.DRAFT) & ~models.Q(review_note="")


def deadline_passed_q(on: datetime.date) -> models.Q:
    """Unpublished policies whose application deadline was before ``on`` (``Policy.deadline_passed`` in SQL)."""
    return models.Q(status__in=UNPUBLISHED, apply_end__lt=on)


class PolicyAttachment(models.Model):
    policy = models.ForeignKey(Policy, verbose_name="政策", related_name="attachments", on_delete=models.CASCADE)
    title = models.CharField("附件名称", max_length=200)
    file = models.FileField("文件", upload_to="policy-attachments/%Y/%m/")

    class Meta:
        verbose_name = "政策附件"
        verbose_name_plural = "政策附件"

    def __str__(self) -> str:
        return self.title


def split_expansions(text: str) -> list[str]:
    """Expansions as staff type them: one per line, or separated by ／ / 、 ， , ；."""
    for separator in "／/、，,；;":
        text = text.replace(separator, "\n")
    return list(dict.fromkeys(word.strip() for word in text.splitlines() if word.strip()))


class SearchSynonym(models.Model):
    """A word people search with and what it stands for (高企 → 高新技术企业): policy search looks for the
    word or any of its expansions, and a search for an expansion also finds the word. Staff edit the list."""

    term = models.CharField("搜索词", max_length=40, unique=True, help_text="如：高企、专精特新、科小。")
    expansions = models.TextField(
        "同义词与全称", help_text="每行一个，也可用“、”或“／”分隔，如：高新技术企业。搜索任一词都会找到含其他词的政策。"
    )
    is_active = models.BooleanField("启用", default=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "搜索同义词"
        verbose_name_plural = "搜索同义词"
        ordering = ["term"]

    def __str__(self) -> str:
        return f"{self.term} → {'、'.join(self.expansion_list())}"

    def expansion_list(self) -> list[str]:
        return [word for word in split_expansions(self.expansions) if word != self.term]


class StaffScope(models.Model):
    """Which part of the city a staff account works for. A district account sees that district's firms,
    numbers and queues; a department account its department's policies and what follows from them; both
    together narrow to both. Accounts without a scope (and superusers) work for the whole city.

    ``policies.scope`` reads it; the register's admin learns the district through ``core.scope``."""

    user = models.OneToOneField(
        "auth.User", verbose_name="工作人员", related_name="staff_scope", on_delete=models.CASCADE
    )
    region = models.ForeignKey(
        Region,
        verbose_name="所属区县",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        limit_choices_to={"parent__isnull": False},
        help_text="留空表示不限区县（市级）。",
    )
    department = models.ForeignKey(
        Department,
        verbose_name="所属部门",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="留空表示不限部门。区级部门的工作人员同时限于该区。",
    )
    mobile = models.CharField(
        "督办提醒手机号",
        max_length=11,
        blank=True,
        validators=[validate_mobile],
        help_text="填写后，每日督办摘要同时以短信发送到该号码。",
    )

    class Meta:
        verbose_name = "工作人员数据范围"
        verbose_name_plural = "工作人员数据范围"

    def __str__(self) -> str:
        parts = [str(p) for p in (self.region, self.department) if p]
        return f"{self.user}：{'·'.join(parts) or '全市'}"

    def clean(self):
        if self.mobile:
            self.mobile = normalize_mobile(self.mobile)
