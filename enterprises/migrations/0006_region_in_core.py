"""Region moved to core (policies/0004 renames its table); only the model state changes here."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_initial'),
        ('enterprises', '0005_derived_tags_column'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name='enterprise',
                    name='region',
                    field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, to='core.region', verbose_name='所属区域'),
                ),
            ],
        ),
    ]
