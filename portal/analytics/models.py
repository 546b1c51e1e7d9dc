"""Rollups the dashboard and the analytics API read, so no page load counts the message table.

- ``FunnelCell``: one push × one policy (or the push as a whole) × one funnel stage: the firms that reached
  that stage as a roaring bitmap and their number, and per district a daily series, a split by firm size
  and, for openings, the hours after sending. Across pushes or policies a firm may repeat: uniting the
  bitmaps gives the distinct count, and ``RegionFirms`` splits it by district. Rewritten per push by
  ``services.funnel.funnel_campaign_refresh``.
- ``CampaignRollup``: when each push was last rolled up, what it cost, and which policies it named.
- ``CoverageCell``: per open policy × district its audience and the firms for which the rule is unknown
  (数据缺失), with the missing fields; the row without a policy holds the firms no open policy reaches.
- ``Snapshot``: small computed documents (the register's headline and data gaps, unused portrait tags).
- ``Digest``: the daily supervision summary sent to each responsible department or district.
"""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models.functions import Coalesce
from django.utils import timezone


class FunnelCell(models.Model):
    # Keys without database constraints: rows are rewritten a push at a time, and pushes and policies are read
    # back by id only. A deleted push's cells go with its rollup (services).
    campaign_id = models.BigIntegerField("推送批次")
    pushed_on = models.DateField("推送日期")
    policy_id = models.BigIntegerField("政策", null=True, blank=True, help_text="为空表示整个批次。")
    stage = models.CharField("环节", max_length=20)
    firms = models.PositiveIntegerField("企业数")
    ids = models.BinaryField("企业集合（roaring bitmap）")
    # Message-level breakdowns by the firm's district at roll-up time ("" for none): {区县 id: …}.
    daily = models.JSONField("每日新增", default=dict, help_text="{区县: {日期: 当日到达该环节的企业数}}")
    by_size = models.JSONField("按企业规模", default=dict, help_text="{区县: {规模: 企业数}}")
    by_hour = models.JSONField("发送后每小时首次打开", default=dict, help_text="{区县: [第 0…72 小时的首次打开数]}")

    class Meta:
        verbose_name = "推送漏斗汇总"
        verbose_name_plural = "推送漏斗汇总"
        constraints = [
            # NULL as 0 (not NULLS NOT DISTINCT: Django's system check would ask the server for its version,
            # and the checks must run before any database is reachable).
            models.UniqueConstraint("campaign_id", Coalesce("policy_id", 0), "stage", name="funnel_cell_unique")
        ]
        indexes = [
            models.Index(fields=["pushed_on", "campaign_id"], name="funnel_cell_pushed"),
            models.Index(fields=["policy_id", "pushed_on"], name="funnel_cell_policy"),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.policy_id or '*'}/{self.stage}"


class RegionFirms(models.Model):
    """The firms of each district as a bitmap (the row without a district: firms without one), rewritten with
    the register snapshot; the funnel splits its firm sets by district with it."""

    region_id = models.BigIntegerField("区县", null=True, blank=True)
    firms = models.PositiveIntegerField("企业数")
    ids = models.BinaryField("企业集合（roaring bitmap）")
    computed_at = models.DateTimeField("计算时间", default=timezone.now)

    class Meta:
        verbose_name = "区县企业集合"
        verbose_name_plural = "区县企业集合"
        constraints = [models.UniqueConstraint(Coalesce("region_id", 0), name="region_firms_unique")]

    def __str__(self) -> str:
        return str(self.region_id or "-")


class CampaignRollup(models.Model):
    campaign_id = models.BigIntegerField("推送批次", primary_key=True)
    pushed_on = models.DateField("推送日期")
    policy_ids = ArrayField(models.BigIntegerField(), verbose_name="推送政策", default=list)
    messages = models.PositiveIntegerField("短信数", default=0)
    audience_on = models.DateField("受众计算日期", null=True, blank=True, help_text="符合条件的企业在首次汇总时确定。")
    refreshed_at = models.DateTimeField("汇总时间", default=timezone.now)
    seconds = models.FloatField("汇总耗时（秒）", default=0)

    class Meta:
        verbose_name = "推送批次汇总"
        verbose_name_plural = "推送批次汇总"

    def __str__(self) -> str:
        return str(self.campaign_id)


class CoverageCell(models.Model):
    policy_id = models.BigIntegerField("政策", null=True, blank=True, help_text="为空：没有任何在办政策覆盖的企业。")
    region_id = models.BigIntegerField("区县", null=True, blank=True)
    audience = models.PositiveIntegerField("符合条件企业数")
    unknown = models.PositiveIntegerField("数据缺失企业数", default=0)
    missing = models.JSONField("缺失字段", default=dict, help_text="{字段: 因该字段缺失而无法判断的企业数}")
    breakdown = models.JSONField("分布", default=dict, help_text="无政策覆盖企业：按规模、行业门类")
    ids = models.BinaryField("企业集合（roaring bitmap）", null=True, blank=True)

    class Meta:
        verbose_name = "政策覆盖汇总"
        verbose_name_plural = "政策覆盖汇总"
        constraints = [
            models.UniqueConstraint(Coalesce("policy_id", 0), Coalesce("region_id", 0), name="coverage_cell_unique")
        ]

    def __str__(self) -> str:
        return f"{self.policy_id or '*'}/{self.region_id or '-'}"


class Snapshot(models.Model):
    key = models.CharField("名称", max_length=40, primary_key=True)
    data = models.JSONField("内容", default=dict)
    computed_at = models.DateTimeField("计算时间", default=timezone.now)
    seconds = models.FloatField("耗时（秒）", default=0)

    class Meta:
        verbose_name = "统计快照"
        verbose_name_plural = "统计快照"

    def __str__(self) -> str:
        return self.key


class Digest(models.Model):
    """One day's supervision summary for one responsible department (or, for 纠错, one district)."""

    day = models.DateField("日期")
    department = models.ForeignKey(
        "policies.Department", verbose_name="责任部门", null=True, blank=True, on_delete=models.CASCADE
    )
    region = models.ForeignKey("core.Region", verbose_name="责任区县", null=True, blank=True, on_delete=models.CASCADE)
    open_items = models.PositiveIntegerField("待办")
    yellow = models.PositiveIntegerField("临期")
    red = models.PositiveIntegerField("超期")
    body = models.TextField("摘要")
    items = models.JSONField("待办明细", default=list)
    sms_sent = models.PositiveSmallIntegerField("短信提醒", default=0)
    created_at = models.DateTimeField("生成时间", default=timezone.now)

    class Meta:
        verbose_name = "督办日报"
        verbose_name_plural = "督办日报"
        ordering = ["-day", "-red", "-yellow"]
        constraints = [
            models.UniqueConstraint("day", Coalesce("department", 0), Coalesce("region", 0), name="digest_one_a_day")
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.department or self.region}"
