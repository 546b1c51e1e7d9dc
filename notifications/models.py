"""Pushes (推送批次): which firms get one SMS about which policies, each message's state, and the links."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class SmsTemplate(models.Model):
    """A template registered with the carriers (正文 without the signature, which the gateway adds)."""

    class Kind(models.TextChoices):
        NOTICE = "notice", "通知类"
        MARKETING = "marketing", "推广类"

    name = models.CharField("名称", max_length=100)
    code = models.CharField("模板编号", max_length=50, help_text="在短信平台备案的模板 ID，如 SMS_123456789。")
    kind = models.CharField("类型", max_length=10, choices=Kind.choices, default=Kind.MARKETING)
    body = models.TextField("模板正文", help_text="可用变量：{企业简称}、{n}、{政策简称}、{link}。")
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "短信模板"
        verbose_name_plural = "短信模板"

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "草稿"
        AWAITING_APPROVAL = "approval", "待复核"
        SCHEDULED = "scheduled", "已排期"
        PLANNING = "planning", "生成短信中"
        SENDING = "sending", "发送中"
        COMPLETED = "completed", "已完成"
        CANCELLED = "cancelled", "已取消"

    class Scope(models.TextChoices):
        SELECTED = "selected", "所选政策"
        SINCE_LAST = "since_last", "上次推送以来发布的全部政策"

    class Purpose(models.TextChoices):
        # Announcing policies: only those open for applications on the day the SMS go out.
        ANNOUNCE = "announce", "政策推送"
        # Telling firms how their own payout or application stands (意愿确认, 办理进度): written by the 兑现 app,
        # to the firms it lists, about a policy whatever its application window (it is not announced).
        PROGRESS = "progress", "兑现进度通知"

    class LinkMode(models.TextChoices):
        PER_FIRM = "per_firm", "企业专属链接"
        FIXED = "fixed", "统一链接（企业凭信用代码和验证码查看）"

    name = models.CharField("批次名称", max_length=100)
    scope = models.CharField(
        "政策范围", max_length=12, choices=Scope.choices, default=Scope.SELECTED,
        help_text="选定政策：只推送下方选择的政策；上次推送以来发布的全部政策：发起时自动选取（不在申报期的不推送）。",
    )  # fmt: skip
    policies = models.ManyToManyField("policies.Policy", verbose_name="推送政策", blank=True, related_name="campaigns")
    purpose = models.CharField("用途", max_length=10, choices=Purpose.choices, default=Purpose.ANNOUNCE, editable=False)
    template = models.ForeignKey(SmsTemplate, verbose_name="短信模板", on_delete=models.PROTECT)
    link_mode = models.CharField(
        "链接方式", max_length=10, choices=LinkMode.choices, default=LinkMode.PER_FIRM,
        help_text="每户专属链接：企业点开即见自己的政策包；统一链接：所有短信同一地址，企业用信用代码和验证码登录后查看"
        "（适用于不允许短信中带个性化链接的通道）。",
    )  # fmt: skip
    force_reminder = models.BooleanField(
        "再次提醒已通知过的企业", default=False,
        help_text="不勾选时，已收到过这些政策短信的企业不会重复收到；勾选后会再次提醒（如截止前催办）。",
    )  # fmt: skip
    daily_cap = models.PositiveSmallIntegerField("每家企业每天最多短信数", default=1)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.DRAFT)
    scheduled_at = models.DateTimeField("计划发送时间", null=True, blank=True)
    created_by = models.ForeignKey(
        "auth.User", verbose_name="创建人", null=True, related_name="+", on_delete=models.SET_NULL
    )
    launched_by = models.ForeignKey(
        "auth.User", verbose_name="发起人", null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    launched_at = models.DateTimeField("发起时间", null=True, blank=True)
    # With SMS_LAUNCH_APPROVAL on, a launch waits for a second person (复核) before anything is planned.
    approved_by = models.ForeignKey(
        "auth.User", verbose_name="复核人", null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    approved_at = models.DateTimeField("复核时间", null=True, blank=True)
    review_note = models.CharField("退回原因", max_length=200, blank=True)
    planned_at = models.DateTimeField("短信生成时间", null=True, blank=True)
    links_expire_at = models.DateTimeField("链接过期时间", null=True, blank=True)
    plan_report = models.JSONField(
        "生成结果", default=dict, blank=True, help_text="受众、排除原因与各阶段耗时（发起后由后台写入）。"
    )
    created_at = models.DateTimeField("创建时间", default=timezone.now)

    class Meta:
        verbose_name = "推送批次"
        verbose_name_plural = "推送批次"
        ordering = ["-created_at"]
        permissions = [("launch_campaign", "可发起短信推送"), ("approve_campaign", "可复核短信推送")]

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    """One SMS to one firm in one campaign, and the link in it; its status only moves forward.

    The text is not stored: it is rendered at send time from the template, the firm's name, the policies
    and the token, by the same expressions that counted its length and segments at planning.
    """

    class Status(models.TextChoices):
        CREATED = "created", "待发送"
        SENDING = "sending", "发送中"
        SENT = "sent", "已提交"
        DELIVERED = "delivered", "已送达"
        TEMPORARY_FAILURE = "temporary-failure", "暂时失败"
        PERMANENT_FAILURE = "permanent-failure", "永久失败"
        TECHNICAL_FAILURE = "technical-failure", "技术故障"
        VALIDATION_FAILED = "validation-failed", "校验失败"
        CANCELLED = "cancelled", "已取消"

    # Keys without database constraints: planning writes a million rows from joins with these very tables,
    # and a constraint would queue one check per row and key for COMMIT. Deletes cascade in the ORM.
    campaign = models.ForeignKey(
        Campaign,
        verbose_name="批次",
        related_name="messages",
        on_delete=models.CASCADE,
        db_index=False,
        db_constraint=False,
    )  # served by message_one_per_firm
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", verbose_name="企业", on_delete=models.CASCADE, db_constraint=False
    )
    mobile = models.CharField("手机号", max_length=11)
    policy_ids = ArrayField(models.BigIntegerField(), verbose_name="政策", help_text="截止日期最近的在前。")
    token = models.CharField(
        "链接令牌", max_length=22, null=True, blank=True, help_text="链接 /b/<令牌>；统一链接方式下为空。"
    )
    length = models.PositiveSmallIntegerField("字数（含签名）")
    segments = models.PositiveSmallIntegerField("计费条数")
    status = models.CharField("状态", max_length=20, choices=Status.choices, default=Status.CREATED)
    call_id = models.CharField(
        "调用流水号", max_length=40, blank=True, help_text="所在那次平台调用的 OutId / SessionContext，回执据此对账。"
    )
    gateway_id = models.CharField("平台回执编号", max_length=64, blank=True)
    error = models.CharField("失败原因", max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField("尝试次数", default=0)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    sent_at = models.DateTimeField("提交时间", null=True, blank=True)
    delivered_at = models.DateTimeField("送达时间", null=True, blank=True)
    first_opened_at = models.DateTimeField("首次打开", null=True, blank=True)
    open_count = models.PositiveIntegerField("打开次数", default=0)
    revoked_at = models.DateTimeField("链接撤销时间", null=True, blank=True)

    class Meta:
        verbose_name = "短信"
        verbose_name_plural = "短信"
        # No index mentions what sending changes (status, call, times), so those updates are HOT: PostgreSQL
        # rewrites the row in place on its page (the table keeps half of each page free, migration 0002)
        # and touches no index. Chunks are id ranges; receipts find their rows by the id block in the call id.
        constraints = [
            models.UniqueConstraint(fields=["campaign", "enterprise"], name="message_one_per_firm"),
            models.UniqueConstraint(fields=["token"], name="message_token"),  # no LIKE index, unlike unique=True
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.enterprise_id}"


class NotificationLedger(models.Model):
    """Which firm was told about which policy, so no policy is pushed to the same firm twice."""

    # The primary key is the triple itself: its index serves lookups by firm and refuses a repeat, and it
    # is the one index a million-row insert pays (a surrogate id would add a second).
    # Keys without database constraints, as on Message: written a million at a time from joins.
    pk = models.CompositePrimaryKey("enterprise", "policy", "campaign")
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", verbose_name="企业", on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    policy = models.ForeignKey(
        "policies.Policy", verbose_name="政策", on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    campaign = models.ForeignKey(
        Campaign, verbose_name="批次", on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    notified_at = models.DateTimeField("通知时间", default=timezone.now)

    class Meta:
        verbose_name = "通知记录"
        verbose_name_plural = "通知记录"

    def __str__(self) -> str:
        return f"{self.enterprise_id}:{self.policy_id}"


class CampaignRecipient(models.Model):
    """A push to a given list of firms (a payout round's 意愿确认): when a campaign has recipients, its
    audience is these firms instead of its policies' audiences; every exclusion still applies."""

    pk = models.CompositePrimaryKey("campaign", "enterprise")
    campaign = models.ForeignKey(
        Campaign, verbose_name="批次", on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    enterprise = models.ForeignKey(
        "enterprises.Enterprise", verbose_name="企业", on_delete=models.CASCADE, db_index=False, db_constraint=False
    )

    class Meta:
        verbose_name = "指定推送企业"
        verbose_name_plural = "指定推送企业"

    def __str__(self) -> str:
        return f"{self.campaign_id}:{self.enterprise_id}"


class InboundSms(models.Model):
    """A reply a firm sent to our signature (上行短信); an opt-out word marks the firm opted out."""

    vendor = models.CharField("通道", max_length=20)
    mobile = models.CharField("手机号", max_length=11)
    text = models.CharField("内容", max_length=500)
    received_at = models.DateTimeField("接收时间", default=timezone.now)
    opted_out = models.PositiveIntegerField("退订企业数", default=0)

    class Meta:
        verbose_name = "上行短信"
        verbose_name_plural = "上行短信"
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return self.text[:20]
