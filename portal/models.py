"""Model pieces shared by the apps."""

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
