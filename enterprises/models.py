"""Enterprises (经营主体) and their portrait tags (企业画像)."""

from __future__ import annotations

from django.db import models

from enterprises.validators import mask_mobile, validate_industry, validate_mobile, validate_uscc
from portal.models import TaxonomyCategory


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
        "policies.Region", verbose_name="所属区域", null=True, blank=True, on_delete=models.PROTECT, db_index=False
    )  # served by the (region, industry) index
    industry = models.CharField(
        "行业代码", max_length=5, blank=True, validators=[validate_industry], help_text="GB/T 4754-2017，如 C39。"
    )
    size_class = models.CharField("企业规模", max_length=8, choices=Size.choices, blank=True)
    founded_on = models.DateField("成立日期", null=True, blank=True)
    registered_capital = models.DecimalField("注册资本（万元）", max_digits=14, decimal_places=2, null=True, blank=True)
    employees = models.PositiveIntegerField("从业人数", null=True, blank=True)
    annual_revenue = models.DecimalField("营业收入（万元）", max_digits=14, decimal_places=2, null=True, blank=True)
    tags = models.ManyToManyField(PortraitTag, through="EnterpriseTag", verbose_name="画像标签", related_name="+")
    sms_opt_out = models.BooleanField("已退订短信", default=False)
    sms_opt_out_at = models.DateTimeField("退订时间", null=True, blank=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = "企业"
        verbose_name_plural = "企业"
        ordering = ["id"]
        permissions = [("view_full_mobile", "可查看完整手机号")]
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
    created_at = models.DateTimeField("记录时间", auto_now_add=True)

    class Meta:
        verbose_name = "企业标签"
        verbose_name_plural = "企业标签"
        constraints = [models.UniqueConstraint(fields=["enterprise", "tag"], name="enterprise_tag_unique")]
        indexes = [models.Index(fields=["tag", "enterprise"], name="enterprise_tag_by_tag")]

    def __str__(self) -> str:
        return f"{self.enterprise_id}:{self.tag_id}"
