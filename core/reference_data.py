"""Load shipped reference data (JSON under ``<app>/data/``) into the database.

Used by data migrations (with the migration's historical ``apps``) and by the tests. Creates what is
missing, keyed by stable codes, and leaves rows staff have edited alone. Each app loads its own files
with these helpers; core loads the regions.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.apps import apps as global_apps

REGIONS_FILE = Path(__file__).resolve().parent / "data" / "regions.json"


def read_json(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def load_taxonomy(
    apps, app_label: str, models: tuple[str, str], path: Path, items: str, copy: tuple[str, ...] = ()
) -> int:
    """Create missing categories and items of one taxonomy file; ``copy`` names category keys items inherit."""
    category_model = apps.get_model(app_label, models[0])
    item_model = apps.get_model(app_label, models[1])
    created = 0
    for order, cat in enumerate(read_json(path)["categories"], 1):
        category, _ = category_model.objects.get_or_create(
            code=cat["code"], defaults={"name": cat["name"], "sort_order": order}
        )
        defaults = {key: cat[key] for key in copy}
        for code, name in cat[items]:
            _, was_created = item_model.objects.get_or_create(
                code=code, defaults={"name": name, "category": category, **defaults}
            )
            created += was_created
    return created


def load_regions(apps=global_apps, model: tuple[str, str] = ("core", "Region")) -> int:
    """The city and its districts (GB/T 2260 codes). ``model`` is ``policies.Region`` in migrations older than
    the model's move to core."""
    region_model = apps.get_model(*model)
    created = 0
    for order, (code, name, parent_code) in enumerate(read_json(REGIONS_FILE)["regions"]):
        parent = region_model.objects.get(code=parent_code) if parent_code else None
        _, was_created = region_model.objects.get_or_create(
            code=code, defaults={"name": name, "parent": parent, "sort_order": order}
        )
        created += was_created
    return created
