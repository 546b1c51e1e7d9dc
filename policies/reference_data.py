"""Load the shipped taxonomies and reference data (JSON under ``*/data/``) into the database.

Used by data migrations and by ``manage.py load_taxonomies``. Creates what is missing, keyed by
stable codes, and leaves rows staff have edited alone.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.apps import apps as global_apps

BASE_DIR = Path(__file__).resolve().parent.parent
POLICY_LABELS_FILE = BASE_DIR / "policies" / "data" / "policy_labels.json"
PORTRAIT_TAGS_FILE = BASE_DIR / "enterprises" / "data" / "portrait_tags.json"
REFERENCE_FILE = BASE_DIR / "policies" / "data" / "reference.json"


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def load_policy_labels(apps=global_apps) -> int:
    category_model = apps.get_model("policies", "PolicyLabelCategory")
    label_model = apps.get_model("policies", "PolicyLabel")
    created = 0
    for order, cat in enumerate(_read(POLICY_LABELS_FILE)["categories"], 1):
        category, _ = category_model.objects.get_or_create(
            code=cat["code"], defaults={"name": cat["name"], "sort_order": order}
        )
        for code, name in cat["labels"]:
            _, was_created = label_model.objects.get_or_create(code=code, defaults={"name": name, "category": category})
            created += was_created
    return created


def load_portrait_tags(apps=global_apps) -> int:
    category_model = apps.get_model("enterprises", "PortraitTagCategory")
    tag_model = apps.get_model("enterprises", "PortraitTag")
    created = 0
    for order, cat in enumerate(_read(PORTRAIT_TAGS_FILE)["categories"], 1):
        category, _ = category_model.objects.get_or_create(
            code=cat["code"], defaults={"name": cat["name"], "sort_order": order}
        )
        for code, name in cat["tags"]:
            _, was_created = tag_model.objects.get_or_create(
                code=code, defaults={"name": name, "category": category, "kind": cat["kind"]}
            )
            created += was_created
    return created


def load_reference(apps=global_apps) -> int:
    region_model = apps.get_model("policies", "Region")
    department_model = apps.get_model("policies", "Department")
    data = _read(REFERENCE_FILE)
    created = 0
    for order, (code, name, parent_code) in enumerate(data["regions"]):
        parent = region_model.objects.get(code=parent_code) if parent_code else None
        _, was_created = region_model.objects.get_or_create(
            code=code, defaults={"name": name, "parent": parent, "sort_order": order}
        )
        created += was_created
    for code, name, level, region_code in data["departments"]:
        region = region_model.objects.get(code=region_code) if region_code else None
        _, was_created = department_model.objects.get_or_create(
            code=code, defaults={"name": name, "level": level, "region": region}
        )
        created += was_created
    return created
