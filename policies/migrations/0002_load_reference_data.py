from django.db import migrations

from core.reference_data import load_regions
from policies import reference_data


def load(apps, schema_editor):
    # Region lived in policies until core/0001 moved it.
    load_regions(apps, model=("policies", "Region"))
    reference_data.load_departments(apps, region_model=("policies", "Region"))
    reference_data.load_policy_labels(apps)


class Migration(migrations.Migration):
    dependencies = [("policies", "0001_initial")]

    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
