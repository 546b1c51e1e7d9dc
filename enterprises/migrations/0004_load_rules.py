from django.db import migrations

from enterprises import reference_data


def load(apps, schema_editor):
    reference_data.load_size_standard(apps)
    reference_data.load_tag_rules(apps)


class Migration(migrations.Migration):
    dependencies = [("enterprises", "0003_import_and_rules")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
