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
SIZE_STANDARD_FILE = BASE_DIR / "enterprises" / "data" / "size_standard_2011.json"
TAG_RULES_FILE = BASE_DIR / "enterprises" / "data" / "tag_rules.json"


def _read(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _load_taxonomy(
    apps, app_label: str, models: tuple[str, str], path: Path, items: str, copy: tuple[str, ...] = ()
) -> int:
    """Create missing categories and items of one taxonomy file; ``copy`` names category keys items inherit."""
    category_model = apps.get_model(app_label, models[0])
    item_model = apps.get_model(app_label, models[1])
    created = 0
    for order, cat in enumerate(_read(path)["categories"], 1):
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


def load_policy_labels(apps=global_apps) -> int:
    return _load_taxonomy(apps, "policies", ("PolicyLabelCategory", "PolicyLabel"), POLICY_LABELS_FILE, "labels")


def load_portrait_tags(apps=global_apps) -> int:
    return _load_taxonomy(
        apps, "enterprises", ("PortraitTagCategory", "PortraitTag"), PORTRAIT_TAGS_FILE, "tags", copy=("kind",)
    )


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


def load_size_standard(apps=global_apps) -> int:
    standard_model = apps.get_model("enterprises", "SizeStandard")
    threshold_model = apps.get_model("enterprises", "SizeThreshold")
    data = _read(SIZE_STANDARD_FILE)
    standard, created = standard_model.objects.get_or_create(
        name=data["name"], defaults={"effective_from": data["effective_from"], "is_active": True}
    )
    if created:
        threshold_model.objects.bulk_create(
            threshold_model(
                standard=standard,
                industry_group=group["group"],
                industry_prefixes=group["prefixes"],
                size_class=size,
                min_employees=group[size].get("employees"),
                min_revenue=group[size].get("revenue"),
                min_assets=group[size].get("assets"),
            )
            for group in data["groups"]
            for size in ("large", "medium", "small")
        )
    return int(created)


def load_tag_rules(apps=global_apps) -> int:
    rule_model = apps.get_model("enterprises", "TagRule")
    tag_model = apps.get_model("enterprises", "PortraitTag")
    tags = dict(tag_model.objects.values_list("code", "id"))
    created = 0
    for kind, value, tag_code in _read(TAG_RULES_FILE)["rules"]:
        _, was_created = rule_model.objects.get_or_create(kind=kind, value=value, tag_id=tags[tag_code])
        created += was_created
    return created
