from django.db import migrations

from policies import reference_data


def load(apps, schema_editor):
    reference_data.load_reference(apps)
    reference_data.load_policy_labels(apps)


class Migration(migrations.Migration):
    dependencies = [("policies", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
