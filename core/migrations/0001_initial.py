"""Region moves from policies to core: its state is created here; enterprises/0006 re-points its foreign key,
and policies/0004 drops the old state and renames the table to core_region."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("policies", "0003_audience_rule"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Region",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("code", models.CharField(max_length=12, unique=True, verbose_name="区划代码")),
                        ("name", models.CharField(max_length=50, verbose_name="名称")),
                        ("sort_order", models.PositiveSmallIntegerField(default=0, verbose_name="排序")),
                        (
                            "parent",
                            models.ForeignKey(
                                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                                to="core.region", verbose_name="上级区域",
                            ),
                        ),
                    ],
                    options={"verbose_name": "区域", "verbose_name_plural": "区域", "ordering": ["sort_order", "code"]},
                ),
            ],
        ),
    ]
