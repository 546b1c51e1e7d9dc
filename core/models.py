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
