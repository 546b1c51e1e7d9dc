"""兑现: how much a policy pays (its amount standard), payout rounds frozen from its audience, each firm's
entry and answer, the 公示 objections, and department-reported applications with their state history."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

DEFAULT_PAYOUT_WORKING_DAYS = 60  # 快申快享: payment within 60 working days


class PayoutStandard(models.Model):
    """A policy's amount standard (兑现标准) and payment deadline, kept as data next to the policy.

    A fixed sum per firm, or a share of one of the firm's figures with a cap and a rounding step. Kept in
    payouts (one row per policy) rather than on the policy: only 兑现 reads it, and the policy's review
    workflow and history stay as they are.
    """

    class Kind(models.TextChoices):
        FIXED = "fixed", "固定金额"
        SHARE = "share", "按企业指标比例"

    class Basis(models.TextChoices):
        # Enterprise figures, all in 万元 in the register.
        ANNUAL_REVENUE = "annual_revenue", "营业收入"
        TOTAL_ASSETS = "total_assets", "资产总额"
        REGISTERED_CAPITAL = "registered_capital", "注册资本"

    class Rounding(models.TextChoices):
        DOWN = "down", "向下取整"
        HALF_UP = "half_up", "四舍五入"

    policy = models.OneToOneField(
        "policies.Policy", verbose_name="政策", related_name="payout_standard", on_delete=models.CASCADE
    )
    kind = models.CharField("金额方式", max_length=8, choices=Kind.choices, default=Kind.FIXED)
    fixed_amount = models.DecimalField("固定金额（元）", max_digits=14, decimal_places=2, null=True, blank=True)
    basis = models.CharField("计算依据", max_length=20, choices=Basis.choices, blank=True)
    rate_percent = models.DecimalField("比例（%）", max_digits=7, decimal_places=4, null=True, blank=True)
    cap = models.DecimalField("单户上限（元）", max_digits=14, decimal_places=2, null=True, blank=True)
    rounding_unit = models.DecimalField(
        "取整单位（元）",
        max_digits=10,
        decimal_places=2,
        default=Decimal("1"),
        help_text="如 1、100、1000；0.01 即到分。",
    )
    rounding = models.CharField("取整方式", max_length=8, choices=Rounding.choices, default=Rounding.DOWN)
    payout_working_days = models.PositiveSmallIntegerField(
        "兑现时限（工作日）", default=DEFAULT_PAYOUT_WORKING_DAYS, help_text="申报各环节停留超过此时限即为超期。"
    )
    legal_basis = models.CharField("依据条款", max_length=200, blank=True, help_text="如：第三条第（二）项")
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "兑现标准"
        verbose_name_plural = "兑现标准"

    def __str__(self) -> str:
        return f"{self.policy}：{self.describe()}"

    def clean(self) -> None:
        errors = {}
        if self.kind == self.Kind.FIXED:
            if self.fixed_amount is None or self.fixed_amount <= 0:
                errors["fixed_amount"] = "固定金额方式须填写大于 0 的金额。"
        else:
            if not self.basis:
                errors["basis"] = "按比例方式须选择计算依据（企业指标）。"
            if self.rate_percent is None or not (0 < self.rate_percent <= 100):
                errors["rate_percent"] = "比例须大于 0 且不超过 100（%）。"
        if self.cap is not None and self.cap <= 0:
            errors["cap"] = "单户上限须大于 0，不设上限请留空。"
        if self.rounding_unit is None or self.rounding_unit <= 0:
            errors["rounding_unit"] = "取整单位须大于 0，如 1 元。"
        if errors:
            raise ValidationError(errors)

    def describe(self) -> str:
        """The standard in words, as the 公示 and the firm's page say it."""
        if self.kind == self.Kind.FIXED:
            return f"每户 {self.fixed_amount:,.2f} 元"
        words = f"按{self.get_basis_display()}的 {self.rate_percent.normalize():f}% 核定"
        if self.cap is not None:
            words += f"，单户最高 {self.cap:,.2f} 元"
        return f"{words}，{self.get_rounding_display()}至 {self.rounding_unit.normalize():f} 元"

    def snapshot(self) -> dict:
        """The standard as data, frozen on a round."""
        return {
            "kind": self.kind,
            "fixed_amount": None if self.fixed_amount is None else str(self.fixed_amount),
            "basis": self.basis,
            "rate_percent": None if self.rate_percent is None else str(self.rate_percent),
            "cap": None if self.cap is None else str(self.cap),
            "rounding_unit": str(self.rounding_unit),
            "rounding": self.rounding,
            "describe": self.describe(),
        }


class PayoutRound(models.Model):
    """兑现批次: one policy's 拟兑现名单 frozen on a day, reviewed, approved by a second person, confirmed by the
    firms, published (公示), sent to finance and paid."""

    class Status(models.TextChoices):
        DRAFT = "draft", "名单审核中"
        AWAITING_APPROVAL = "approval", "待复核"
        CONFIRMING = "confirming", "意愿确认中"
        PUBLICITY = "publicity", "公示中"
        FINANCE = "finance", "待拨付"
        CLOSED = "closed", "已完成"
        CANCELLED = "cancelled", "已取消"

    # Published policies are withdrawn, never deleted (only drafts are, and a draft has no rounds).
    policy = models.ForeignKey(
        "policies.Policy", verbose_name="政策", related_name="payout_rounds", on_delete=models.CASCADE
    )
    name = models.CharField("批次名称", max_length=100)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.DRAFT)
    frozen_on = models.DateField("名单生成日期（按此日数据核定）")
    frozen_at = models.DateTimeField("名单生成时间", default=timezone.now)
    rule = models.JSONField("受众规则（生成时）", default=dict)
    rule_version = models.PositiveIntegerField("规则版本（政策变更记录号）", null=True, blank=True)
    standard = models.JSONField("兑现标准（生成时）", default=dict)
    vocabulary = models.JSONField("标签与区域名称（生成时）", default=dict)
    listed_count = models.PositiveIntegerField("拟兑现企业数", default=0)
    excluded_count = models.PositiveIntegerField("排除企业数", default=0)
    total_amount = models.DecimalField("拟兑现总额（元）", max_digits=16, decimal_places=2, default=0)
    confirm_days = models.PositiveSmallIntegerField("意愿确认期限（工作日）", default=5)
    confirm_deadline = models.DateField("意愿确认截止", null=True, blank=True)
    publicity_days = models.PositiveSmallIntegerField("公示期（工作日）", default=5)
    publicity_start = models.DateField("公示开始", null=True, blank=True)
    publicity_end = models.DateField("公示结束", null=True, blank=True)
    created_by = models.ForeignKey(
        "auth.User", verbose_name="生成人", null=True, related_name="+", on_delete=models.SET_NULL
    )
    submitted_by = models.ForeignKey(
        "auth.User", verbose_name="提交人", null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    submitted_at = models.DateTimeField("提交复核时间", null=True, blank=True)
    approved_by = models.ForeignKey(
        "auth.User", verbose_name="复核人", null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    approved_at = models.DateTimeField("复核时间", null=True, blank=True)
    review_note = models.CharField("退回原因", max_length=200, blank=True)
    reminded_at = models.DateTimeField("提醒短信时间", null=True, blank=True)
    exported_at = models.DateTimeField("报送财政时间", null=True, blank=True)
    campaigns = models.ManyToManyField(
        "notifications.Campaign", verbose_name="意愿确认短信", blank=True, related_name="+"
    )

    class Meta:
        verbose_name = "兑现批次"
        verbose_name_plural = "兑现批次"
        ordering = ["-frozen_at"]
        permissions = [
            ("open_payoutround", "可生成与审核兑现名单"),
            ("approve_payoutround", "可复核兑现名单"),
            ("export_payoutround", "可导出拨付名单并导入拨付结果"),
        ]

    def __str__(self) -> str:
        return self.name


class PayoutEntry(models.Model):
    """One firm on a round's list: its amount and why (frozen), its answer, and the payment."""

    class Status(models.TextChoices):
        LISTED = "listed", "拟兑现"
        CONFIRMED = "confirmed", "已确认"
        DECLINED = "declined", "已放弃"
        UNANSWERED = "unanswered", "逾期未确认"
        EXCLUDED = "excluded", "未列入"
        PAID = "paid", "已拨付"
        FAILED = "failed", "拨付失败"

    # Keys without database constraints, as on the push tables: a round writes 400,000 rows from one join.
    round = models.ForeignKey(
        PayoutRound,
        verbose_name="批次",
        related_name="entries",
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
    )
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", verbose_name="企业", related_name="+", on_delete=models.CASCADE, db_constraint=False
    )
    amount = models.DecimalField("核定金额（元）", max_digits=14, decimal_places=2, null=True, blank=True)
    status = models.CharField("状态", max_length=12, choices=Status.choices, default=Status.LISTED)
    reason = models.CharField("未列入或未拨付原因", max_length=200, blank=True)
    facts = models.JSONField("核定依据（生成时企业数据）", default=dict)
    bank_name = models.CharField("开户银行", max_length=100, blank=True)
    account_encrypted = models.TextField("收款账号（加密）", blank=True)
    account_last4 = models.CharField("账号后四位", max_length=4, blank=True)
    answered_at = models.DateTimeField("确认时间", null=True, blank=True)
    paid_amount = models.DecimalField("拨付金额（元）", max_digits=14, decimal_places=2, null=True, blank=True)
    paid_on = models.DateField("拨付日期", null=True, blank=True)
    payment_ref = models.CharField("拨付流水号", max_length=64, blank=True)
    updated_at = models.DateTimeField("更新时间", default=timezone.now)

    class Meta:
        verbose_name = "兑现名单企业"
        verbose_name_plural = "兑现名单企业"
        constraints = [models.UniqueConstraint(fields=["round", "enterprise"], name="payout_entry_one_per_firm")]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.enterprise_id}"

    @property
    def masked_account(self) -> str:
        return f"**** **** {self.account_last4}" if self.account_last4 else ""


class PayoutAudit(models.Model):
    """Who did what to a round or one of its entries, and why (exclusions, approvals, imports)."""

    round = models.ForeignKey(PayoutRound, verbose_name="批次", related_name="audit", on_delete=models.CASCADE)
    entry = models.ForeignKey(PayoutEntry, verbose_name="企业", null=True, blank=True, on_delete=models.CASCADE)
    action = models.CharField("操作", max_length=40)
    reason = models.CharField("原因", max_length=300, blank=True)
    user = models.ForeignKey("auth.User", verbose_name="操作人", null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField("时间", default=timezone.now)

    class Meta:
        verbose_name = "兑现操作记录"
        verbose_name_plural = "兑现操作记录"
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.action} {self.reason}"


class Objection(models.Model):
    """异议: anyone may object to a firm on a round in 公示; staff answer within working days."""

    class Status(models.TextChoices):
        OPEN = "open", "待处理"
        UPHELD = "upheld", "异议成立"
        DISMISSED = "dismissed", "异议不成立"

    round = models.ForeignKey(PayoutRound, verbose_name="批次", related_name="objections", on_delete=models.CASCADE)
    entry = models.ForeignKey(PayoutEntry, verbose_name="所涉企业", null=True, blank=True, on_delete=models.SET_NULL)
    reason = models.TextField("异议理由", max_length=1000)
    contact = models.CharField("联系方式", max_length=100)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.OPEN)
    answer = models.TextField("处理意见", blank=True)
    due_on = models.DateField("办理期限")
    handled_by = models.ForeignKey(
        "auth.User", verbose_name="处理人", null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    handled_at = models.DateTimeField("处理时间", null=True, blank=True)
    created_at = models.DateTimeField("提出时间", default=timezone.now)

    class Meta:
        verbose_name = "公示异议"
        verbose_name_plural = "公示异议"
        ordering = ["status", "due_on"]
        permissions = [("handle_objection", "可处理公示异议")]

    def __str__(self) -> str:
        return self.reason[:30]


class ApplicationStatus(models.TextChoices):
    """What a department reports on an application; RANK orders them (rejected ends from any state)."""

    RECEIVED = "received", "已受理"
    REVIEWING = "reviewing", "审核中"
    PUBLICIZED = "publicized", "已公示"
    PAID = "paid", "已拨付"
    REJECTED = "rejected", "未通过"


APPLICATION_RANK = {
    ApplicationStatus.RECEIVED: 1,
    ApplicationStatus.REVIEWING: 2,
    ApplicationStatus.PUBLICIZED: 3,
    ApplicationStatus.PAID: 4,
    ApplicationStatus.REJECTED: 4,
}
APPLICATION_TERMINAL = (ApplicationStatus.PAID, ApplicationStatus.REJECTED)


class Application(models.Model):
    """An application (常规申报 / 即申即享) as its department's system reports it. A firm's own 已申报 button
    (portal.PolicyReaction) is what the firm says, kept apart and never counted as one of these."""

    department = models.ForeignKey(
        "policies.Department", verbose_name="受理部门", related_name="+", on_delete=models.PROTECT
    )
    external_id = models.CharField("部门系统编号", max_length=64)
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", verbose_name="企业", related_name="+", on_delete=models.CASCADE, db_constraint=False
    )
    policy = models.ForeignKey(
        "policies.Policy", verbose_name="政策", related_name="+", on_delete=models.CASCADE, db_constraint=False
    )
    status = models.CharField("状态", max_length=12, choices=ApplicationStatus.choices)
    reason = models.CharField("说明", max_length=300, blank=True)
    amount = models.DecimalField("金额（元）", max_digits=14, decimal_places=2, null=True, blank=True)
    status_at = models.DateTimeField("进入当前状态时间")
    # The state the firm was last told about by SMS (or decided not to tell: too old, or not a state worth an
    # SMS); the department's imports never write it, so a change leaves it behind until notices run.
    notified_status = models.CharField("已短信告知的状态", max_length=12, blank=True, db_default="", editable=False)
    created_at = models.DateTimeField("首次上报", default=timezone.now)
    updated_at = models.DateTimeField("最近上报", default=timezone.now)

    class Meta:
        verbose_name = "申报办理"
        verbose_name_plural = "申报办理"
        constraints = [
            models.UniqueConstraint(fields=["department", "external_id"], name="application_external_id"),
        ]
        indexes = [
            models.Index(fields=["enterprise"], name="application_by_enterprise"),
            # The few changes not yet considered for an SMS, found without reading every application.
            models.Index(
                fields=["id"], condition=~models.Q(notified_status=models.F("status")), name="application_untold"
            ),
        ]
        permissions = [("report_application", "可上报申报办理状态")]

    def __str__(self) -> str:
        return self.external_id


class ApplicationEvent(models.Model):
    """One reported state of an application; (application, status) is unique, so a repeat changes nothing."""

    application = models.ForeignKey(
        Application,
        verbose_name="申报",
        related_name="events",
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
    )
    status = models.CharField("状态", max_length=12, choices=ApplicationStatus.choices)
    reason = models.CharField("说明", max_length=300, blank=True)
    amount = models.DecimalField("金额（元）", max_digits=14, decimal_places=2, null=True, blank=True)
    at = models.DateTimeField("发生时间")
    reported_at = models.DateTimeField("上报时间", default=timezone.now)

    class Meta:
        verbose_name = "申报状态记录"
        verbose_name_plural = "申报状态记录"
        constraints = [models.UniqueConstraint(fields=["application", "status"], name="application_event_once")]

    def __str__(self) -> str:
        return self.get_status_display()


class ApplicationReporter(models.Model):
    """An integration account (API token) allowed to report applications for one department's policies."""

    user = models.ForeignKey("auth.User", verbose_name="接口账号", related_name="+", on_delete=models.CASCADE)
    department = models.ForeignKey(
        "policies.Department", verbose_name="部门", related_name="+", on_delete=models.CASCADE
    )

    class Meta:
        verbose_name = "申报状态上报授权"
        verbose_name_plural = "申报状态上报授权"
        constraints = [models.UniqueConstraint(fields=["user", "department"], name="application_reporter_unique")]

    def __str__(self) -> str:
        return f"{self.user} → {self.department}"
