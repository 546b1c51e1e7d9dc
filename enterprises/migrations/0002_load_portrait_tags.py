from django.db import migrations

from enterprises import reference_data


def load(apps, schema_editor):
    reference_data.load_portrait_tags(apps)


class Migration(migrations.Migration):
    dependencies = [("enterprises", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
