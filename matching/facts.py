"""What rules may ask about firms, read from PostgreSQL (the source of truth) in one query."""

from __future__ import annotations

import datetime

from django.db import connection
from django.utils import timezone

from matching.rules import Facts

FACTS_SQL = """
SELECT e.id, r.code, NULLIF(e.industry, ''), NULLIF(e.size_class, ''), e.founded_on, e.registered_capital,
       e.employees, e.annual_revenue,
       ARRAY(SELECT p.code FROM enterprises_enterprisetag t JOIN enterprises_portraittag p ON p.id = t.tag_id
             WHERE t.enterprise_id = e.id AND (t.valid_until IS NULL OR t.valid_until >= %s)
             UNION SELECT p.code FROM enterprises_portraittag p WHERE p.id = ANY(e.derived_tags))
FROM enterprises_enterprise e LEFT JOIN policies_region r ON r.id = e.region_id
WHERE e.id = ANY(%s)
"""


def facts_for(enterprise_ids: list[int], on: datetime.date | None = None) -> dict[int, Facts]:
    """The facts of these firms as the register says now; certificates count while valid on ``on``."""
    on = on or timezone.localdate()
    with connection.cursor() as cursor:
        cursor.execute(FACTS_SQL, [on, list(enterprise_ids)])
        return {
            row[0]: Facts(row[0], frozenset(row[8]), row[1], row[2], row[3], row[4], row[5], row[6], row[7])
            for row in cursor.fetchall()
        }
