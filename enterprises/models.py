"""Enterprises (经营主体) and their portrait tags (企业画像)."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models

from core.models import TaxonomyCategory
from enterprises.validators import mask_mobile, validate_industry, validate_mobile, validate_uscc


class PortraitTagCategory(TaxonomyCategory):
    class Meta(TaxonomyCategory.Meta):
        verbose_name = "画像标签大类"
        verbose_name_plural = "画像标签大类"


class PortraitTag(models.Model):
    """An enterprise portrait tag. Codes are stable: audience rules refer to them."""

    class Kind(models.TextChoices):
        QUALIFICATION = "qualification", "资质认定（有证书与有效期）"
        DERIVED = "derived", "由数据推导"
        ATTRIBUTE = "attribute", "一般属性"

    code = models.CharField("编码", max_length=20, unique=True)
    name = models.CharField("名称", max_length=50)
    category = models.ForeignKey(
        PortraitTagCategory, verbose_name="大类", related_name="tags", on_delete=models.PROTECT
    )
    kind = models.CharField("类型", max_length=16, choices=Kind.choices, default=Kind.ATTRIBUTE)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "画像标签"
        verbose_name_plural = "画像标签"
        ordering = ["category__sort_order", "code"]
        constraints = [models.UniqueConstraint(fields=["category", "name"], name="portrait_tag_unique_name")]

    def __str__(self) -> str:
        return f"{self.category.name}·{self.name}"


class Enterprise(models.Model):
    class Size(models.TextChoices):
        LARGE = "large", "大型"
        MEDIUM = "medium", "中型"
        SMALL = "small", "小型"
        MICRO = "micro", "微型"

    uscc = models.CharField("统一社会信用代码", max_length=18, unique=True, validators=[validate_uscc])
    name = models.CharField("企业名称", max_length=200)
    short_name = models.CharField("企业简称", max_length=40, blank=True)
    legal_representative = models.CharField("法定代表人", max_length=50, blank=True)
    contact_name = models.CharField("联系人", max_length=50, blank=True)
    contact_mobile = models.CharField("联系手机", max_length=11, blank=True, validators=[validate_mobile])
    region = models.ForeignKey(
        "core.Region", verbose_name="所属区域", null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )  # served by the (region, industry) index
    industry = models.CharField(
        "行业代码", max_length=5, blank=True, validators=[validate_industry], help_text="GB/T 4754-2017，如 C39。"
    )
    size_class = models.CharField("企业规模", max_length=8, choices=Size.choices, blank=True)
    founded_on = models.DateField("成立日期", null=True, blank=True)
    registered_capital = models.DecimalField("注册资本（万元）", max_digits=14, decimal_places=2, null=True, blank=True)
    employees = models.PositiveIntegerField("从业人数", null=True, blank=True)
    annual_revenue = models.DecimalField("营业收入（万元）", max_digits=14, decimal_places=2, null=True, blank=True)
    total_assets = models.DecimalField("资产总额（万元）", max_digits=14, decimal_places=2, null=True, blank=True)
    tags = models.ManyToManyField(PortraitTag, through="EnterpriseTag", verbose_name="画像标签", related_name="+")
    # Tags derived by TagRule from the columns above (district, industry, size, age): PortraitTag ids,
    # kept on the row because they follow the data and number several per firm.
    derived_tags = ArrayField(models.BigIntegerField(), verbose_name="推导标签", default=list, blank=True)
    derived_at = models.DateTimeField("标签推导时间", null=True, blank=True)
    sms_opt_out = models.BooleanField("已退订短信", default=False)
    sms_opt_out_at = models.DateTimeField("退订时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "企业"
        verbose_name_plural = "企业"
        ordering = ["id"]
        permissions = [("view_full_mobile", "可查看完整手机号"), ("correct_tags", "可按纠错申请增删企业标签")]
        indexes = [
            models.Index(fields=["region", "industry"], name="enterprise_region_industry"),
            models.Index(fields=["contact_mobile"], name="enterprise_mobile"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(registered_capital__gte=0) | models.Q(registered_capital__isnull=True),
                name="enterprise_capital_non_negative",
                violation_error_message="注册资本不能为负数。",
            ),
            models.CheckConstraint(
                condition=models.Q(annual_revenue__gte=0) | models.Q(annual_revenue__isnull=True),
                name="enterprise_revenue_non_negative",
                violation_error_message="营业收入不能为负数。",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def masked_mobile(self) -> str:
        return mask_mobile(self.contact_mobile)


class EnterpriseTag(models.Model):
    """One tag on one firm, with where it came from (provenance) and, for qualifications, its certificate."""

    class Source(models.TextChoices):
        IMPORT = "import", "文件导入"
        DERIVED = "derived", "规则推导"
        STAFF = "staff", "工作人员编辑"
        CORRECTION = "correction", "纠错审核通过"
        DEMO = "demo", "演示数据"

    # The composite indexes below serve both keys; single-column FK indexes would only slow bulk loads.
    enterprise = models.ForeignKey(
        Enterprise, verbose_name="企业", related_name="tag_links", on_delete=models.CASCADE, db_index=False
    )
    tag = models.ForeignKey(
        PortraitTag, verbose_name="标签", related_name="enterprise_links", on_delete=models.PROTECT, db_index=False
    )
    source = models.CharField("来源", max_length=12, choices=Source.choices)
    certificate_no = models.CharField("证书编号", max_length=64, blank=True, default="", db_default="")
    issued_by = models.CharField("认定机构", max_length=100, blank=True, default="", db_default="")
    valid_until = models.DateField("有效期至", null=True, blank=True)
    import_job = models.ForeignKey(
        "ImportJob", verbose_name="导入批次", null=True, blank=True, on_delete=models.SET_NULL, db_index=False
    )
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = "企业标签"
        verbose_name_plural = "企业标签"
        constraints = [models.UniqueConstraint(fields=["enterprise", "tag"], name="enterprise_tag_unique")]
        indexes = [models.Index(fields=["tag", "enterprise"], name="enterprise_tag_by_tag")]

    def __str__(self) -> str:
        return f"{self.enterprise_id}:{self.tag_id}"


class EnterpriseTagChange(models.Model):
    """Log of tag removals and staff edits: what a firm's tag list looked like over time, and who changed it."""

    class Action(models.TextChoices):
        ADDED = "added", "添加"
        REMOVED = "removed", "移除"
        EXPIRED = "expired", "资质到期失效"

    enterprise = models.ForeignKey(
        Enterprise, verbose_name="企业", related_name="tag_changes", on_delete=models.CASCADE
    )
    tag = models.ForeignKey(PortraitTag, verbose_name="标签", related_name="+", on_delete=models.PROTECT)
    action = models.CharField("操作", max_length=10, choices=Action.choices)
    source = models.CharField("来源", max_length=12, choices=EnterpriseTag.Source.choices)
    detail = models.CharField("说明", max_length=200, blank=True)
    user = models.ForeignKey("auth.User", verbose_name="操作人", null=True, blank=True, on_delete=models.SET_NULL)
    at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = "企业标签变更"
        verbose_name_plural = "企业标签变更"
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} {self.tag_id}"


class ImportJob(models.Model):
    """One file import (or API batch): what came in, what happened to each row, and the error report."""

    class Status(models.TextChoices):
        QUEUED = "queued", "排队中"
        RUNNING = "running", "导入中"
        SUCCEEDED = "succeeded", "已完成"
        FAILED = "failed", "失败"

    class Kind(models.TextChoices):
        REGISTER = "register", "企业名录"
        QUALIFICATION = "qualification", "资质名单"

    class Source(models.TextChoices):
        UPLOAD = "upload", "文件上传"  # .csv / .xlsx from the admin
        API = "api", "接口推送"  # JSON lines from another system, POST /api/enterprises/bulk/

    kind = models.CharField("类型", max_length=16, choices=Kind.choices, default=Kind.REGISTER)
    source = models.CharField("来源", max_length=8, choices=Source.choices, default=Source.UPLOAD)
    file = models.FileField("文件", upload_to="imports/%Y/%m/", blank=True)
    original_name = models.CharField("文件名", max_length=255, blank=True)
    encoding = models.CharField("编码", max_length=20, blank=True, help_text="留空自动识别（UTF-8 / GBK）。")
    dry_run = models.BooleanField("仅校验不写入", default=False)
    contacts_allowed = models.BooleanField(
        "可修改联系电话", default=True, help_text="接口令牌没有 register:write-contacts 权限时，导入不改动联系电话。"
    )
    status = models.CharField("状态", max_length=10, choices=Status.choices, default=Status.QUEUED)
    message = models.TextField("说明", blank=True)
    total_rows = models.PositiveIntegerField("数据行", default=0)
    added = models.PositiveIntegerField("新增", default=0)
    updated = models.PositiveIntegerField("更新", default=0)
    unchanged = models.PositiveIntegerField("未变化", default=0)
    refused = models.PositiveIntegerField("拒绝", default=0)
    error_report = models.FileField("错误报告", upload_to="import-errors/%Y/%m/", blank=True)
    warnings = models.JSONField("提示", default=list, blank=True)
    errors = models.JSONField("被拒绝的单元格（前 200 个）", default=list, blank=True)  # row, column, value, reason
    created_by = models.ForeignKey("auth.User", verbose_name="发起人", null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    started_at = models.DateTimeField("开始时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)

    class Meta:
        verbose_name = "导入批次"
        verbose_name_plural = "导入批次"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk} {self.original_name}"

    @property
    def summary(self) -> str:
        return f"新增 {self.added:,}，更新 {self.updated:,}，未变化 {self.unchanged:,}，拒绝 {self.refused:,}"


class SizeStandard(models.Model):
    """A version of the enterprise size standard (工信部联企业〔2011〕300号 and successors)."""

    name = models.CharField("名称", max_length=100)
    effective_from = models.DateField("施行日期")
    is_active = models.BooleanField("当前使用", default=False)

    class Meta:
        verbose_name = "企业规模划分标准"
        verbose_name_plural = "企业规模划分标准"
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return self.name


class SizeThreshold(models.Model):
    """The lower bounds of one size class for one industry group; a firm meets it when every given bound is met."""

    standard = models.ForeignKey(SizeStandard, verbose_name="标准", related_name="thresholds", on_delete=models.CASCADE)
    industry_group = models.CharField("行业", max_length=50)
    industry_prefixes = models.CharField(
        "行业代码前缀", max_length=200, help_text="以逗号分隔的 GB/T 4754 代码前缀，如 B,C,D；“*”表示其他未列明行业。"
    )
    size_class = models.CharField("规模", max_length=8, choices=Enterprise.Size.choices)
    min_employees = models.PositiveIntegerField("从业人员下限", null=True, blank=True)
    min_revenue = models.DecimalField("营业收入下限（万元）", max_digits=14, decimal_places=2, null=True, blank=True)
    min_assets = models.DecimalField("资产总额下限（万元）", max_digits=14, decimal_places=2, null=True, blank=True)

    class Meta:
        verbose_name = "规模划分阈值"
        verbose_name_plural = "规模划分阈值"
        ordering = ["standard", "industry_group", "size_class"]
        constraints = [
            models.UniqueConstraint(fields=["standard", "industry_group", "size_class"], name="size_threshold_unique")
        ]

    def __str__(self) -> str:
        return f"{self.industry_group}·{self.get_size_class_display()}"


class TagRule(models.Model):
    """A rule that derives a portrait tag from a firm's data (kept as data so staff can read and edit it)."""

    class Kind(models.TextChoices):
        INDUSTRY = "industry", "行业代码前缀"
        REGION = "region", "所属区域"
        SIZE = "size", "企业规模"
        AGE = "age", "成立年限（年，区间 [下限, 上限)）"

    kind = models.CharField("规则类型", max_length=10, choices=Kind.choices)
    value = models.CharField(
        "条件",
        max_length=40,
        help_text="行业：代码前缀（如 I65）；区域：区划代码；规模：large/medium/small/micro；年限：如 1-3、5-",
    )
    tag = models.ForeignKey(PortraitTag, verbose_name="得到标签", related_name="rules", on_delete=models.CASCADE)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "标签推导规则"
        verbose_name_plural = "标签推导规则"
        ordering = ["kind", "value"]
        constraints = [models.UniqueConstraint(fields=["kind", "value", "tag"], name="tag_rule_unique")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value} → {self.tag.name}"
