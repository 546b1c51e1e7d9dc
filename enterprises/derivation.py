"""Derived portrait tags, computed set-based from rules kept as data (TagRule, SizeThreshold).

Size class follows 工信部联企业〔2011〕300号: a firm is large/medium/small when it meets every
bound of that class for its industry, micro when it misses a small-class bound, and unknown (left
as it was) when the data to decide are missing. Age buckets, district and industry-domain tags come
from ``TagRule`` rows. Only differences are written, so refreshing unchanged firms writes nothing.
"""

from __future__ import annotations

import datetime

from django.db import connection
from django.utils import timezone

from enterprises.models import Enterprise, EnterpriseTag, SizeStandard, SizeThreshold, TagRule

FIRMS = Enterprise._meta.db_table
LINKS = EnterpriseTag._meta.db_table


def _size_tables(cursor) -> bool:
    """Temp tables of the active size standard: prefix → group, and group → bounds per size class."""
    standard = SizeStandard.objects.filter(is_active=True).first()
    if standard is None:
        return False
    rows = list(SizeThreshold.objects.filter(standard=standard))
    prefixes = {(p.strip(), t.industry_group) for t in rows for p in t.industry_prefixes.split(",") if p.strip()}
    cursor.execute(
        "DROP TABLE IF EXISTS size_prefix; CREATE TEMP TABLE size_prefix (prefix text PRIMARY KEY, grp text);"
        "DROP TABLE IF EXISTS size_bounds; CREATE TEMP TABLE size_bounds "
        "(grp text, size text, min_emp int, min_rev numeric, min_assets numeric, PRIMARY KEY (grp, size));"
    )
    cursor.executemany("INSERT INTO size_prefix VALUES (%s, %s)", sorted(prefixes))
    cursor.executemany(
        "INSERT INTO size_bounds VALUES (%s, %s, %s, %s, %s)",
        [(t.industry_group, t.size_class, t.min_employees, t.min_revenue, t.min_assets) for t in rows],
    )
    return True


def _meets(size: str) -> str:
    """SQL: TRUE when every bound of ``size`` is known and met, NULL when a needed figure is missing."""
    b = f"b_{size}"
    return (
        f"((({b}.min_emp IS NULL) OR e.employees >= {b}.min_emp) AND "
        f"(({b}.min_rev IS NULL) OR e.annual_revenue >= {b}.min_rev) AND "
        f"(({b}.min_assets IS NULL) OR e.total_assets >= {b}.min_assets))"
    )


SIZE_SQL = f"""
UPDATE {FIRMS} AS f SET size_class = d.size, updated_at = now()
FROM (
  SELECT e.id,
    CASE WHEN {_meets("large")} THEN 'large'
         WHEN {_meets("medium")} THEN 'medium'
         WHEN {_meets("small")} THEN 'small'
         WHEN NOT {_meets("small")} THEN 'micro'
    END AS size
  FROM {FIRMS} e
  {{scope}}
  JOIN size_prefix p ON p.prefix = COALESCE(
    (SELECT prefix FROM size_prefix WHERE prefix = left(e.industry, 4)),
    (SELECT prefix FROM size_prefix WHERE prefix = left(e.industry, 3)),
    (SELECT prefix FROM size_prefix WHERE prefix = left(e.industry, 1)),
    '*')
  JOIN size_bounds b_large ON b_large.grp = p.grp AND b_large.size = 'large'
  JOIN size_bounds b_medium ON b_medium.grp = p.grp AND b_medium.size = 'medium'
  JOIN size_bounds b_small ON b_small.grp = p.grp AND b_small.size = 'small'
  WHERE e.industry <> ''
) d
WHERE f.id = d.id AND d.size IS NOT NULL AND f.size_class IS DISTINCT FROM d.size
"""

DESIRED_SQL = f"""
DROP TABLE IF EXISTS derived_desired;
CREATE TEMP TABLE derived_desired AS
SELECT DISTINCT e.id AS enterprise_id, r.tag_id
FROM {FIRMS} e
{{scope}}
JOIN policies_region reg ON reg.id = e.region_id
JOIN {TagRule._meta.db_table} r ON r.is_active AND r.kind = 'region' AND r.value = reg.code
UNION
SELECT e.id, r.tag_id FROM {FIRMS} e {{scope}}
JOIN {TagRule._meta.db_table} r ON r.is_active AND r.kind = 'size' AND r.value = e.size_class
UNION
SELECT e.id, r.tag_id FROM {FIRMS} e {{scope}}
CROSS JOIN LATERAL (VALUES (left(e.industry, 1)), (left(e.industry, 3)), (left(e.industry, 4)),
                           (left(e.industry, 5))) AS p(prefix)
JOIN {TagRule._meta.db_table} r ON r.is_active AND r.kind = 'industry' AND r.value = p.prefix
WHERE e.industry <> '' AND (length(p.prefix) = 1 OR length(p.prefix) >= 3)
UNION
SELECT e.id, r.tag_id FROM {FIRMS} e {{scope}}
JOIN {TagRule._meta.db_table} r ON r.is_active AND r.kind = 'age'
  AND extract(year FROM age(%(today)s::date, e.founded_on)) >= split_part(r.value, '-', 1)::int
  AND (split_part(r.value, '-', 2) = ''
       OR extract(year FROM age(%(today)s::date, e.founded_on)) < split_part(r.value, '-', 2)::int)
WHERE e.founded_on IS NOT NULL;
"""


def derived_tags_refresh(*, scope_table: str | None = None, today: datetime.date | None = None) -> dict[str, int]:
    """Recompute size class and derived tags for the firms in ``scope_table`` (a table of ``id``), or all firms.

    Returns how many size classes changed and how many derived tag links were added and removed.
    """
    today = today or timezone.localdate()
    scope = f"JOIN {scope_table} scope ON scope.id = e.id" if scope_table else ""
    scope_links = f"AND t.enterprise_id IN (SELECT id FROM {scope_table})" if scope_table else ""
    with connection.cursor() as cursor:
        sizes = 0
        if _size_tables(cursor):
            cursor.execute(SIZE_SQL.format(scope=scope))
            sizes = cursor.rowcount
        cursor.execute(DESIRED_SQL.format(scope=scope), {"today": today})
        cursor.execute("CREATE INDEX ON derived_desired (enterprise_id, tag_id); ANALYZE derived_desired")
        cursor.execute(
            f"""DELETE FROM {LINKS} t WHERE t.source = 'derived' {scope_links}
                AND NOT EXISTS (SELECT 1 FROM derived_desired d
                                WHERE d.enterprise_id = t.enterprise_id AND d.tag_id = t.tag_id)"""
        )
        removed = cursor.rowcount
        cursor.execute(
            f"""INSERT INTO {LINKS} (enterprise_id, tag_id, source, certificate_no, issued_by, created_at)
                SELECT enterprise_id, tag_id, 'derived', '', '', now() FROM derived_desired
                ON CONFLICT (enterprise_id, tag_id) DO NOTHING"""
        )
        added = cursor.rowcount
        cursor.execute("DROP TABLE derived_desired")
    return {"size_changed": sizes, "added": added, "removed": removed}
