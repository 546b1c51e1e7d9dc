"""Reference data every app shares: the city's regions, and the base class of the shipped taxonomies."""

from django.db import models


class TaxonomyCategory(models.Model):
    """A top-level category of a shipped taxonomy (policy labels, portrait tags), keyed by a stable code."""

    code = models.CharField("编码", max_length=20, unique=True)
    name = models.CharField("名称", max_length=50, unique=True)
    sort_order = models.PositiveSmallIntegerField("排序", default=0)

    class Meta:
        abstract = True
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class Region(models.Model):
    """An administrative area (GB/T 2260 code where one exists): the city and its districts."""

    code = models.CharField("区划代码", max_length=12, unique=True)
    name = models.CharField("名称", max_length=50)
    parent = models.ForeignKey("self", verbose_name="上级区域", null=True, blank=True, on_delete=models.PROTECT)
    sort_order = models.PositiveSmallIntegerField("排序", default=0)

    class Meta:
        verbose_name = "区域"
        verbose_name_plural = "区域"
        ordering = ["sort_order", "code"]

    def __str__(self) -> str:
        return self.name


class IntegrationToken(models.Model):
    """A credential for another government system calling the API: hashed, expiring, limited to scopes.

    Only a SHA-256 digest of the key is stored; the key is shown once, when the token is created. The token
    acts as its service account (``user``), whose permissions still apply, and only within its scopes.
    """

    name = models.CharField("名称", max_length=100, help_text="调用方系统，如“市税务局企业名录同步”。")
    user = models.ForeignKey(
        "auth.User", verbose_name="服务账号", on_delete=models.PROTECT, related_name="integration_tokens"
    )
    prefix = models.CharField("令牌前缀", max_length=8, unique=True, editable=False)
    key_hash = models.CharField("令牌摘要", max_length=64, editable=False)
    scopes = models.JSONField("权限范围", default=list)
    expires_at = models.DateTimeField("过期时间")
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    created_by = models.ForeignKey(
        "auth.User", verbose_name="创建人", null=True, blank=True, related_name="+", on_delete=models.SET_NULL
    )
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)

    class Meta:
        verbose_name = "接口令牌"
        verbose_name_plural = "接口令牌"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name}（{self.prefix}…）"


class IntegrationTokenUse(models.Model):
    """One authenticated API call made with a token: the audit trail of every use."""

    token = models.ForeignKey(IntegrationToken, verbose_name="令牌", on_delete=models.CASCADE, related_name="uses")
    at = models.DateTimeField("时间", auto_now_add=True)
    method = models.CharField("方法", max_length=8)
    path = models.CharField("地址", max_length=300)
    scope = models.CharField("使用的权限", max_length=40)
    ip = models.GenericIPAddressField("来源", null=True, blank=True)

    class Meta:
        verbose_name = "接口令牌使用记录"
        verbose_name_plural = "接口令牌使用记录"
        ordering = ["-at"]
        indexes = [models.Index(fields=["token", "-at"], name="token_use_latest")]

    def __str__(self) -> str:
        return f"{self.method} {self.path}"
