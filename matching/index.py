"""An in-memory index of the register for audience queries: roaring bitmaps per attribute value.

Each rule node evaluates to a pair of bitmaps (firms where it is true, firms where it is false); the
firms in neither are unknown. ``not`` swaps the pair, ``all``/``any`` combine them, which is
exactly Kleene logic. PostgreSQL stays the source of truth: every process builds its own index and
keeps it fresh by reading a generation counter and a list of changed firm ids from Redis before each
query (see ``core.changes``), re-reading only those firms.
"""

from __future__ import annotations

import array
import bisect
import datetime
import json
import threading
import time
from dataclasses import dataclass, field

from django.db import connection
from django.utils import timezone
from pyroaring import BitMap

from core import changes
from matching.facts import facts_for
from policies.audience_rules import FIELDS

NUMERIC = ("registered_capital", "employees", "annual_revenue")
Pair = tuple[BitMap, BitMap]  # (true, false)


@dataclass
class SortedColumn:
    """Firm ids ordered by one numeric value, cut into bins with a bitmap each.

    A range is the union of the whole bins inside it plus the two partial bins at its edges, so a
    broad range costs a few bitmap unions instead of building a bitmap of half the city.
    """

    values: array.array
    ids: array.array
    bin_size: int = 0
    bins: list[BitMap] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.bin_size = max(len(self.ids) // 64, 4096)
        self.bins = [BitMap(self.ids[i : i + self.bin_size]) for i in range(0, len(self.ids), self.bin_size)]

    def between(self, low, high) -> BitMap:
        """Ids with low <= value <= high (either bound may be None)."""
        lo = 0 if low is None else bisect.bisect_left(self.values, low)
        hi = len(self.values) if high is None else bisect.bisect_right(self.values, high)
        if hi <= lo:
            return BitMap()
        first, last = -(-lo // self.bin_size), hi // self.bin_size  # whole bins: [first, last)
        if first >= last:
            return BitMap(self.ids[lo:hi])
        result = BitMap().union(*self.bins[first:last])
        result.update(self.ids[lo : first * self.bin_size])
        result.update(self.ids[last * self.bin_size : hi])
        return result


@dataclass
class MatchingIndex:
    everyone: BitMap = field(default_factory=BitMap)
    tags: dict[str, BitMap] = field(default_factory=dict)
    regions: dict[str, BitMap] = field(default_factory=dict)
    industries: dict[str, BitMap] = field(default_factory=dict)
    sizes: dict[str, BitMap] = field(default_factory=dict)
    columns: dict[str, SortedColumn] = field(default_factory=dict)  # numeric fields and founded_on (ordinals)
    known: dict[str, BitMap] = field(default_factory=dict)  # firms that have a value for each field
    # Firms changed since the columns were built: excluded from the columns, evaluated from ``overrides``.
    dirty: BitMap = field(default_factory=BitMap)
    overrides: dict[int, dict] = field(default_factory=dict)
    generation: int = -1
    built_seconds: float = 0.0
    cache: dict = field(default_factory=dict)

    # --- building --------------------------------------------------------------------------------------

    @classmethod
    def build(cls) -> MatchingIndex:
        started = time.monotonic()
        index = cls(generation=changes.current_generation())
        with connection.cursor() as cursor:
            cursor.execute("SELECT id FROM enterprises_enterprise ORDER BY id")
            index.everyone = BitMap(array.array("I", (row[0] for row in cursor.fetchall())))
            cursor.execute(TAGS_SQL, [timezone.localdate()])
            for code, ids in cursor.fetchall():
                index.tags[code] = BitMap(array.array("I", ids))
            for name, sql, target in (
                ("region", REGION_SQL, index.regions),
                ("industry", "SELECT industry, array_agg(id) FROM enterprises_enterprise WHERE industry <> '' "
                             "GROUP BY industry", index.industries),
                ("size_class", "SELECT size_class, array_agg(id) FROM enterprises_enterprise WHERE size_class <> '' "
                               "GROUP BY size_class", index.sizes),
            ):  # fmt: skip
                cursor.execute(sql)
                for key, ids in cursor.fetchall():
                    target[key] = BitMap(array.array("I", ids))
                index.known[name] = BitMap().union(*target.values()) if target else BitMap()
            for name in (*NUMERIC, "founded_on"):
                value = "founded_on - DATE '0001-01-01' + 1" if name == "founded_on" else name
                cursor.execute(
                    f"SELECT array_agg({value}::float8 ORDER BY {name}, id), array_agg(id ORDER BY {name}, id) "
                    f"FROM enterprises_enterprise WHERE {name} IS NOT NULL"
                )
                values, ids = cursor.fetchone()
                index.columns[name] = SortedColumn(array.array("d", values or []), array.array("I", ids or []))
                index.known[name] = BitMap(index.columns[name].ids)
        index.built_seconds = time.monotonic() - started
        return index

    def apply_changes(self, ids: list[int]) -> None:
        """Re-read ``ids`` from the database and move them to their new bitmaps."""
        self.cache.clear()
        changed = BitMap(ids)
        for bitmaps in (self.tags, self.regions, self.industries, self.sizes):
            for bitmap in bitmaps.values():
                bitmap.difference_update(changed)
        for bitmap in (*self.known.values(), self.everyone):
            bitmap.difference_update(changed)
        self.dirty |= changed
        for pk, enterprise in facts_for(ids).items():
            self.everyone.add(pk)
            for code in enterprise.tags:
                self.tags.setdefault(code, BitMap()).add(pk)
            for name, key, target in (("region", enterprise.region, self.regions),
                                      ("industry", enterprise.industry, self.industries),
                                      ("size_class", enterprise.size_class, self.sizes)):  # fmt: skip
                if key:
                    target.setdefault(key, BitMap()).add(pk)
                    self.known[name].add(pk)
            self.overrides[pk] = {
                "founded_on": enterprise.founded_on.toordinal() if enterprise.founded_on else None,
                "registered_capital": float(enterprise.registered_capital)
                if enterprise.registered_capital is not None
                else None,
                "employees": enterprise.employees,
                "annual_revenue": float(enterprise.annual_revenue) if enterprise.annual_revenue is not None else None,
            }
            for name, value in self.overrides[pk].items():
                if value is not None:
                    self.known[name].add(pk)

    # --- evaluation ------------------------------------------------------------------------------------

    def audience(self, rule: dict, on: datetime.date) -> BitMap:
        """Firms for which the rule is true on ``on``."""
        return self.evaluate(rule, on)[0]

    def evaluate(self, node: dict, on: datetime.date) -> Pair:
        if "all" in node:
            true, false = BitMap(self.everyone), BitMap()
            for child in node["all"]:
                t, f = self.evaluate(child, on)
                true &= t
                false |= f
            return true, false
        if "any" in node:
            true, false = BitMap(), BitMap(self.everyone)
            for child in node["any"]:
                t, f = self.evaluate(child, on)
                true |= t
                false &= f
            return true, false
        if "not" in node:
            t, f = self.evaluate(node["not"], on)
            return f, t
        key = (json.dumps(node, sort_keys=True), on)
        if key not in self.cache:
            if len(self.cache) > 20_000:
                self.cache.clear()
            self.cache[key] = self._leaf(node, on)
        return self.cache[key]

    def _leaf(self, node: dict, on: datetime.date) -> Pair:
        if "tag" in node:
            true = self.tags.get(node["tag"], BitMap())
            return true, self.everyone - true
        field_name, op, value = node["field"], node["op"], node["value"]
        kind = FIELDS[field_name]["kind"]
        if kind in {"region", "industry", "size"}:
            bitmaps = {"region": self.regions, "industry": self.industries, "size": self.sizes}[kind]
            if op == "prefix":
                true = BitMap().union(*(b for code, b in bitmaps.items() if code.startswith(value)))
            else:
                wanted = value if op == "in" else [value]
                true = BitMap().union(*(bitmaps[v] for v in wanted if v in bitmaps))
            known = self.known[{"region": "region", "industry": "industry", "size": "size_class"}[kind]]
            return true, known - true
        low, high = _bounds(op, value)
        if field_name == "age_years":
            column, known = "founded_on", self.known["founded_on"]
            # whole years >= n  <=>  founded on or before the latest date that gives n years
            low, high = (None if high is None else _latest_founding(on, high + 1).toordinal() + 1,
                         None if low is None else _latest_founding(on, low).toordinal())  # fmt: skip
        else:
            column, known = field_name, self.known[field_name]
            low, high = (None if low is None else float(low)), (None if high is None else float(high))
        true = self.columns[column].between(low, high) - self.dirty
        for pk in self.dirty & known:  # firms changed since the columns were built
            current = self.overrides.get(pk, {}).get(column)
            if current is not None and (low is None or current >= low) and (high is None or current <= high):
                true.add(pk)
        return true, known - true


def _bounds(op: str, value):
    return {"eq": (value, value), "gte": (value, None), "lte": (None, value)}.get(op) or (value[0], value[1])


def _latest_founding(on: datetime.date, years: int) -> datetime.date:
    """The latest founding date for which a firm is at least ``years`` whole years old on ``on``."""
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February in a year without one
        return on.replace(year=on.year - years, day=28)


TAGS_SQL = """
SELECT p.code, ids FROM enterprises_portraittag p JOIN (
  SELECT tag_id, array_agg(DISTINCT enterprise_id) AS ids FROM (
    SELECT tag_id, enterprise_id FROM enterprises_enterprisetag WHERE valid_until IS NULL OR valid_until >= %s
    UNION ALL
    SELECT unnest(derived_tags), id FROM enterprises_enterprise
  ) pairs GROUP BY tag_id
) t ON t.tag_id = p.id
"""
REGION_SQL = """
SELECT r.code, array_agg(e.id) FROM enterprises_enterprise e JOIN core_region r ON r.id = e.region_id
GROUP BY r.code
"""
_index: MatchingIndex | None = None
_lock = threading.Lock()


def get_index() -> MatchingIndex:
    """This process's index, brought up to date with the changes other processes announced."""
    global _index
    with _lock:
        if _index is None:
            _index = MatchingIndex.build()
            return _index
        since = changes.register_changes_since(_index.generation)
        if since.rebuild:
            _index = MatchingIndex.build()
        elif since.ids:
            _index.apply_changes(sorted(since.ids))
        _index.generation = since.generation
        return _index


def reset_index() -> None:
    global _index
    with _lock:
        _index = None
