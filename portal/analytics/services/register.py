"""The register's headline and its data gaps, per district, in one pass over the firms (a beat task; the
dashboard reads the snapshot): firms, those an SMS can reach, those opted out, and for each field a rule can
ask about how many firms lack it; then, per tag source, how many firms hold no tag from it. With it, each
district's firms as a bitmap (``RegionFirms``), which the funnel uses to split its firm sets by district."""

from __future__ import annotations

import time

from django.db import connection, transaction
from django.utils import timezone
from psycopg2.extras import execute_values
from pyroaring import BitMap

from enterprises.models import EnterpriseTag
from enterprises.validators import MOBILE_RE
from portal.analytics.models import RegionFirms, Snapshot

REGISTER = "register"
# The fields rules ask about (policies.audience_rules.FIELDS) and the mobile, each with its "missing" test.
FIELD_GAPS = {
    "contact_mobile": ("联系手机", f"NOT (e.contact_mobile ~ '{MOBILE_RE.pattern}')"),
    "region": ("所属区域", "e.region_id IS NULL"),
    "industry": ("行业代码", "e.industry = ''"),
    "size_class": ("企业规模", "e.size_class = ''"),
    "founded_on": ("成立日期（成立年限）", "e.founded_on IS NULL"),
    "registered_capital": ("注册资本", "e.registered_capital IS NULL"),
    "employees": ("从业人数", "e.employees IS NULL"),
    "annual_revenue": ("营业收入", "e.annual_revenue IS NULL"),
    "total_assets": ("资产总额", "e.total_assets IS NULL"),
}
TAG_SOURCES = {
    EnterpriseTag.Source.IMPORT: "部门文件导入的标签",
    EnterpriseTag.Source.DERIVED: "规则推导的标签",
    EnterpriseTag.Source.STAFF: "工作人员维护的标签",
    EnterpriseTag.Source.CORRECTION: "纠错采纳的标签",
}


def region_firms_refresh() -> None:
    """Each district's firms as a bitmap (and those without a district), for the funnel's district split."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT region_id, array_agg(id) FROM enterprises_enterprise GROUP BY region_id")
        rows = []
        for region_id, ids in cursor.fetchall():
            firms = BitMap(ids)
            firms.run_optimize()
            rows.append((region_id, len(firms), firms.serialize(), timezone.now()))
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {RegionFirms._meta.db_table}")
        execute_values(
            cursor, f"INSERT INTO {RegionFirms._meta.db_table} (region_id, firms, ids, computed_at) VALUES %s", rows
        )


def register_refresh() -> Snapshot:
    """Recompute the register snapshot: ``{"regions": {region id or "": {firms, reachable, opted_out,
    missing: {field: n}, no_tags_from: {source: n}}}}``."""
    started = time.perf_counter()
    missing = ", ".join(f"count(*) FILTER (WHERE {test})" for _, test in FIELD_GAPS.values())
    regions: dict[str, dict] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT e.region_id, count(*),
                       count(*) FILTER (WHERE e.contact_mobile ~ '{MOBILE_RE.pattern}' AND NOT e.sms_opt_out),
                       count(*) FILTER (WHERE e.sms_opt_out), {missing}
                FROM enterprises_enterprise e GROUP BY e.region_id"""
        )
        for region_id, firms, reachable, opted_out, *gaps in cursor.fetchall():
            regions[str(region_id or "")] = {
                "firms": firms,
                "reachable": reachable,
                "opted_out": opted_out,
                "missing": dict(zip(FIELD_GAPS, gaps, strict=True)),
                "no_tags_from": {},
            }
        # Firms holding at least one tag from each source; derived tags live on the firm's row.
        cursor.execute(
            f"""SELECT e.region_id, t.source, count(*) FROM enterprises_enterprise e
                JOIN (SELECT DISTINCT enterprise_id, source FROM {EnterpriseTag._meta.db_table}
                      WHERE source <> '{EnterpriseTag.Source.DERIVED}') t ON t.enterprise_id = e.id
                GROUP BY 1, 2
                UNION ALL
                SELECT e.region_id, '{EnterpriseTag.Source.DERIVED}', count(*) FROM enterprises_enterprise e
                WHERE cardinality(e.derived_tags) > 0 GROUP BY 1"""
        )
        holding: dict[str, dict[str, int]] = {}
        for region_id, source, n in cursor.fetchall():
            holding.setdefault(str(region_id or ""), {})[source] = n
    for key, row in regions.items():
        row["no_tags_from"] = {s: row["firms"] - holding.get(key, {}).get(s, 0) for s in TAG_SOURCES}
    region_firms_refresh()
    with transaction.atomic():
        snapshot, _ = Snapshot.objects.update_or_create(
            key=REGISTER,
            defaults={"data": {"regions": regions}, "computed_at": timezone.now(),
                      "seconds": round(time.perf_counter() - started, 3)},
        )  # fmt: skip
    return snapshot
