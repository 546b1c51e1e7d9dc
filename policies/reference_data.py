"""Load the policy label taxonomy and the issuing departments shipped under ``policies/data/``."""

from __future__ import annotations

from pathlib import Path

from django.apps import apps as global_apps

from core.reference_data import load_taxonomy, read_json

DATA_DIR = Path(__file__).resolve().parent / "data"
POLICY_LABELS_FILE = DATA_DIR / "policy_labels.json"
DEPARTMENTS_FILE = DATA_DIR / "departments.json"


def load_policy_labels(apps=global_apps) -> int:
    return load_taxonomy(apps, "policies", ("PolicyLabelCategory", "PolicyLabel"), POLICY_LABELS_FILE, "labels")


def load_departments(apps=global_apps, region_model: tuple[str, str] = ("core", "Region")) -> int:
    region_model = apps.get_model(*region_model)
    department_model = apps.get_model("policies", "Department")
    created = 0
    for code, name, level, region_code in read_json(DEPARTMENTS_FILE)["departments"]:
        region = region_model.objects.get(code=region_code) if region_code else None
        _, was_created = department_model.objects.get_or_create(
            code=code, defaults={"name": name, "level": level, "region": region}
        )
        created += was_created
    return created


SEARCH_SYNONYMS_FILE = DATA_DIR / "search_synonyms.json"


def load_search_synonyms(apps=global_apps) -> int:
    """Seed the search synonyms (高企 → 高新技术企业 …); words staff have since edited are left alone."""
    synonym_model = apps.get_model("policies", "SearchSynonym")
    created = 0
    for term, expansions in read_json(SEARCH_SYNONYMS_FILE)["synonyms"]:
        _, was_created = synonym_model.objects.get_or_create(term=term, defaults={"expansions": "\n".join(expansions)})
        created += was_created
    return created
