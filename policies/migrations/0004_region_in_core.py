"""Region moved to core: the foreign keys point at core.Region, the old state goes, and the table is renamed."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('core', '0001_initial'),
        ('enterprises', '0006_region_in_core'),
        ('policies', '0003_audience_rule'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE policies_region RENAME TO core_region",
                    "ALTER TABLE core_region RENAME TO policies_region",
                ),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name='policy',
                    name='region',
                    field=models.ForeignKey(blank=True, help_text='区级政策必填。', null=True, on_delete=django.db.models.deletion.PROTECT, to='core.region', verbose_name='适用区域'),
                ),
                migrations.AlterField(
                    model_name='department',
                    name='region',
                    field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, to='core.region', verbose_name='所属区域'),
                ),
                migrations.AlterField(
                    model_name='historicalpolicy',
                    name='region',
                    field=models.ForeignKey(blank=True, db_constraint=False, help_text='区级政策必填。', null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='core.region', verbose_name='适用区域'),
                ),
                migrations.DeleteModel(
                    name='Region',
                ),
            ],
        ),
    ]
