"""Load the portrait-tag taxonomy, the enterprise size standard and the derived-tag rules shipped under
``enterprises/data/``."""

from __future__ import annotations

from pathlib import Path

from django.apps import apps as global_apps

from core.reference_data import load_taxonomy, read_json

DATA_DIR = Path(__file__).resolve().parent / "data"
PORTRAIT_TAGS_FILE = DATA_DIR / "portrait_tags.json"
SIZE_STANDARD_FILE = DATA_DIR / "size_standard_2011.json"
TAG_RULES_FILE = DATA_DIR / "tag_rules.json"


def load_portrait_tags(apps=global_apps) -> int:
    return load_taxonomy(
        apps, "enterprises", ("PortraitTagCategory", "PortraitTag"), PORTRAIT_TAGS_FILE, "tags", copy=("kind",)
    )


def load_size_standard(apps=global_apps) -> int:
    standard_model = apps.get_model("enterprises", "SizeStandard")
    threshold_model = apps.get_model("enterprises", "SizeThreshold")
    data = read_json(SIZE_STANDARD_FILE)
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
    for kind, value, tag_code in read_json(TAG_RULES_FILE)["rules"]:
        _, was_created = rule_model.objects.get_or_create(kind=kind, value=value, tag_id=tags[tag_code])
        created += was_created
    return created
