"""The common rule shape as simple choices, for staff who should not have to write JSON.

``compose`` turns the choices into a rule; ``decompose`` reads a rule back into choices when it has
that shape (other rules stay editable as raw JSON).
"""

from __future__ import annotations

from decimal import Decimal

RANGES = {"age_years": "age", "employees": "employees", "registered_capital": "capital", "annual_revenue": "revenue"}


def compose(choices: dict) -> dict:
    parts: list[dict] = [{"tag": code} for code in choices.get("required_tags", [])]
    any_tags = choices.get("any_tags", [])
    if any_tags:
        parts.append({"any": [{"tag": code} for code in any_tags]})
    parts += [{"not": {"tag": code}} for code in choices.get("excluded_tags", [])]
    if choices.get("regions"):
        parts.append({"field": "region", "op": "in", "value": list(choices["regions"])})
    if choices.get("sizes"):
        parts.append({"field": "size_class", "op": "in", "value": list(choices["sizes"])})
    prefixes = [p.strip().upper() for p in choices.get("industries", []) if p.strip()]
    if prefixes:
        leaves = [{"field": "industry", "op": "prefix", "value": p} for p in prefixes]
        parts.append(leaves[0] if len(leaves) == 1 else {"any": leaves})
    for field, key in RANGES.items():
        low, high = choices.get(f"{key}_min"), choices.get(f"{key}_max")
        low, high = _plain(low), _plain(high)
        if low is not None and high is not None:
            parts.append({"field": field, "op": "between", "value": [low, high]})
        elif low is not None:
            parts.append({"field": field, "op": "gte", "value": low})
        elif high is not None:
            parts.append({"field": field, "op": "lte", "value": high})
    return {"all": parts}


def decompose(rule: dict) -> dict | None:
    """Choices that compose back to ``rule``, or None when the rule has another shape."""
    if not isinstance(rule, dict) or set(rule) != {"all"}:
        return None
    choices: dict = {"required_tags": [], "any_tags": [], "excluded_tags": [], "regions": [], "sizes": [],
                     "industries": []}  # fmt: skip
    for part in rule["all"]:
        if set(part) == {"tag"}:
            choices["required_tags"].append(part["tag"])
        elif set(part) == {"any"} and part["any"] and all(set(p) == {"tag"} for p in part["any"]):
            choices["any_tags"] = [p["tag"] for p in part["any"]]
        elif set(part) == {"not"} and set(part["not"]) == {"tag"}:
            choices["excluded_tags"].append(part["not"]["tag"])
        elif part.get("field") == "region" and part.get("op") == "in":
            choices["regions"] = part["value"]
        elif part.get("field") == "size_class" and part.get("op") == "in":
            choices["sizes"] = part["value"]
        elif part.get("field") == "industry" and part.get("op") == "prefix":
            choices["industries"] = [part["value"]]
        elif set(part) == {"any"} and all(
            p.get("field") == "industry" and p.get("op") == "prefix" for p in part["any"]
        ):
            choices["industries"] = [p["value"] for p in part["any"]]
        elif part.get("field") in RANGES and part.get("op") in {"gte", "lte", "between"}:
            key = RANGES[part["field"]]
            value = part["value"]
            if part["op"] == "between":
                choices[f"{key}_min"], choices[f"{key}_max"] = value
            else:
                choices[f"{key}_{'min' if part['op'] == 'gte' else 'max'}"] = value
        else:
            return None
    return choices if compose(choices) == rule else None


def _plain(value):
    if value is None or value == "":
        return None
    number = Decimal(str(value))
    return int(number) if number == number.to_integral_value() else float(number)
