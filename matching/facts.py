"""What rules may ask about firms, read from PostgreSQL (the source of truth) in one query."""

from __future__ import annotations

import datetime

from django.db import connection
from django.utils import timezone

from matching.rules import Facts

# A firm's facts as columns, for any query that joins ``enterprises_enterprise e`` and
# ``core_region r`` (left join on e.region_id); ``%s`` is the day certificates must be valid on.
# Tags held and tags derived may overlap; the frozenset in Facts absorbs the repeat.
FACTS_ATTRIBUTES = """r.code, NULLIF(e.industry, ''), NULLIF(e.size_class, ''), e.founded_on, e.registered_capital,
       e.employees, e.annual_revenue"""
FACTS_TAGS = """ARRAY(SELECT p.code FROM enterprises_portraittag p JOIN unnest(
               ARRAY(SELECT t.tag_id FROM enterprises_enterprisetag t
                     WHERE t.enterprise_id = e.id AND (t.valid_until IS NULL OR t.valid_until >= %s))
               || e.derived_tags) held(id) ON held.id = p.id)"""
FACTS_COLUMNS = f"{FACTS_ATTRIBUTES},\n       {FACTS_TAGS}"

FACTS_SQL = f"""
SELECT e.id, {FACTS_COLUMNS}
FROM enterprises_enterprise e LEFT JOIN core_region r ON r.id = e.region_id
WHERE e.id = ANY(%s)
"""


def facts_from_row(enterprise_id: int, columns) -> Facts:
    """Facts from the ``FACTS_COLUMNS`` part of a row."""
    region, industry, size_class, founded_on, capital, employees, revenue, tags = columns
    return Facts(enterprise_id, frozenset(tags), region, industry, size_class, founded_on, capital, employees, revenue)


def facts_for(enterprise_ids: list[int], on: datetime.date | None = None) -> dict[int, Facts]:
    """The facts of these firms as the register says now; certificates count while valid on ``on``."""
    on = on or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(FACTS_SQL, [on, list(enterprise_ids)])
        return {row[0]: facts_from_row(row[0], row[1:]) for row in cursor.fetchall()}
