"""What enterprises do on the portal: sign-in codes, reactions, ratings, label subscriptions and tag corrections."""

from django.db import models
from django.utils import timezone


class LoginCode(models.Model):
    """A one-time SMS code for an enterprise's sign-in; only its keyed hash is stored."""

    enterprise = models.ForeignKey("enterprises.Enterprise", verbose_name="企业", on_delete=models.CASCADE)
    code_hash = models.CharField("验证码摘要", max_length=64)
    created_at = models.DateTimeField("发送时间", default=timezone.now)
    expires_at = models.DateTimeField("过期时间")
    attempts = models.PositiveSmallIntegerField("错误次数", default=0)
    used_at = models.DateTimeField("使用时间", null=True, blank=True)
    ip = models.GenericIPAddressField("请求来源", null=True, blank=True)

    class Meta:
        verbose_name = "登录验证码"
        verbose_name_plural = "登录验证码"
        indexes = [models.Index(fields=["enterprise", "-created_at"], name="login_code_latest")]

    def __str__(self) -> str:
        return f"{self.enterprise_id}@{self.created_at:%H:%M}"


class PolicyReaction(models.Model):
    """What a firm said of a policy in its package: interested, applied, or not relevant."""

    class Kind(models.TextChoices):
        INTERESTED = "interested", "感兴趣"
        APPLIED = "applied", "已申报"
        IRRELEVANT = "irrelevant", "不相关"

    enterprise = models.ForeignKey("enterprises.Enterprise", verbose_name="企业", on_delete=models.CASCADE)
    policy = models.ForeignKey("policies.Policy", verbose_name="政策", on_delete=models.CASCADE)
    kind = models.CharField("反馈", max_length=12, choices=Kind.choices)
    updated_at = models.DateTimeField("时间", default=timezone.now)

    class Meta:
        verbose_name = "政策反馈"
        verbose_name_plural = "政策反馈"
        constraints = [models.UniqueConstraint(fields=["enterprise", "policy"], name="reaction_one_per_policy")]

    def __str__(self) -> str:
        return self.get_kind_display()


class PolicyRating(models.Model):
    """好差评: a firm's rating of a policy's service, followed up by staff until replied."""

    class Rating(models.TextChoices):
        GOOD = "good", "好评"
        BAD = "bad", "差评"

    class Status(models.TextChoices):
        RECEIVED = "received", "已收到"
        HANDLED = "handled", "已处理"
        REPLIED = "replied", "已回复"

    enterprise = models.ForeignKey("enterprises.Enterprise", verbose_name="企业", on_delete=models.CASCADE)
    policy = models.ForeignKey("policies.Policy", verbose_name="政策", on_delete=models.CASCADE)
    rating = models.CharField("评价", max_length=4, choices=Rating.choices)
    comment = models.TextField("意见", blank=True, max_length=500)
    status = models.CharField("跟进状态", max_length=10, choices=Status.choices, default=Status.RECEIVED)
    reply = models.TextField("答复", blank=True)
    handled_by = models.ForeignKey(
        "auth.User", verbose_name="处理人", null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    handled_at = models.DateTimeField("处理时间", null=True, blank=True)
    created_at = models.DateTimeField("评价时间", default=timezone.now)

    class Meta:
        verbose_name = "好差评"
        verbose_name_plural = "好差评"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_rating_display()}：{self.comment[:20]}"


class LabelSubscription(models.Model):
    """A policy label a firm follows: future pushes and its package ranking use it."""

    enterprise = models.ForeignKey("enterprises.Enterprise", verbose_name="企业", on_delete=models.CASCADE)
    label = models.ForeignKey("policies.PolicyLabel", verbose_name="政策标签", on_delete=models.CASCADE)
    created_at = models.DateTimeField("订阅时间", default=timezone.now)

    class Meta:
        verbose_name = "标签订阅"
        verbose_name_plural = "标签订阅"
        constraints = [models.UniqueConstraint(fields=["enterprise", "label"], name="subscription_unique")]

    def __str__(self) -> str:
        return str(self.label_id)


class TagCorrection(models.Model):
    """纠错: a firm disputes one of its portrait tags, claims a qualification it is missing, or says a fact of the
    register (region, size, industry, founding date) is wrong; staff approve (a tag changes, with provenance;
    a register fact is corrected at its source) or not, with a note the firm sees."""

    class Action(models.TextChoices):
        REMOVE = "remove", "该标签有误，应去除"
        ADD = "add", "缺少该标签，应添加"
        FIELD = "field", "登记信息有误，应更正"

    class Field(models.TextChoices):
        """Register facts a firm may dispute: the ones its derived tags and policies' rules read."""

        REGION = "region", "所属区域"
        SIZE_CLASS = "size_class", "企业规模"
        INDUSTRY = "industry", "所属行业"
        FOUNDED_ON = "founded_on", "成立日期"

    class Status(models.TextChoices):
        PENDING = "pending", "待审核"
        APPROVED = "approved", "已采纳"
        REJECTED = "rejected", "未采纳"

    enterprise = models.ForeignKey("enterprises.Enterprise", verbose_name="企业", on_delete=models.CASCADE)
    tag = models.ForeignKey(
        "enterprises.PortraitTag",
        verbose_name="标签",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text="登记信息纠错时，为由该项信息推导出、被企业指出有误的标签（可为空）。",
    )
    action = models.CharField("纠错类型", max_length=8, choices=Action.choices)
    field = models.CharField("登记信息项", max_length=12, choices=Field.choices, blank=True)
    current_value = models.CharField("申请时登记的值", max_length=100, blank=True)
    requested_value = models.CharField("企业认为应为", max_length=100, blank=True)
    reason = models.TextField("理由", max_length=500)
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.PENDING)
    review_note = models.TextField("审核意见", blank=True)
    reviewed_by = models.ForeignKey(
        "auth.User", verbose_name="审核人", null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    reviewed_at = models.DateTimeField("审核时间", null=True, blank=True)
    created_at = models.DateTimeField("提交时间", default=timezone.now)

    class Meta:
        verbose_name = "标签纠错"
        verbose_name_plural = "标签纠错"
        ordering = ["status", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(action="field") & ~models.Q(field=""))
                | (~models.Q(action="field") & models.Q(tag__isnull=False, field="")),
                name="correction_names_its_subject",
                violation_error_message="标签纠错须指明标签，登记信息纠错须指明信息项。",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_action_display()}：{self.subject}"

    @property
    def subject(self) -> str:
        """What is disputed, in words: the tag's name, or the register fact (and the tag it produced)."""
        if self.action == self.Action.FIELD:
            return self.get_field_display() + (f"（标签“{self.tag.name}”）" if self.tag_id else "")
        return self.tag.name if self.tag_id else ""
