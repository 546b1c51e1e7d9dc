"""Every table the dashboard shows, as header + rows: the page renders them and the XLSX export writes the
very same ones, so a download always matches the screen. Tables are grouped by the section that computes
them; ``section_tables`` computes one section for a scope and filter."""

from __future__ import annotations

from collections.abc import Callable

from policies.models import Level
from policies.scope import Scope
from portal.analytics import stages as funnel_stages
from portal.analytics.exports import Percent, Table
from portal.analytics.selectors import coverage, supervision
from portal.analytics.selectors.funnel import FunnelFilter, funnel_for


def _share(part: int, whole: int) -> Percent | None:
    return Percent(part / whole) if whole else None


def funnel_tables(funnel: dict) -> dict[str, Table]:
    keys, labels = funnel_stages.stage_keys(), funnel_stages.stage_labels()
    stage_names = [labels[k] for k in keys]
    tables = {
        "funnel-stages": Table(
            "推送漏斗",
            ["环节", "企业数", "较上一环节", "占符合条件企业"],
            [(s["label"], s["count"], _percent(s["rate"]), _percent(s["of_qualified"])) for s in funnel["stages"]],
        ),
        "funnel-regions": Table(
            "按区县",
            ["区县", *stage_names, "打开率（打开/送达）"],
            [
                (r["name"], *(r["counts"][k] for k in keys), _share(r["counts"]["opened"], r["counts"]["delivered"]))
                for r in funnel["by_region"]
            ],
        ),  # fmt: skip
        "funnel-sizes": Table(
            "按企业规模",
            ["企业规模", *stage_names, "打开率（打开/送达）"],
            [
                (r["name"], *(r["counts"][k] for k in keys), _share(r["counts"]["opened"], r["counts"]["delivered"]))
                for r in funnel["by_size"]
            ],
        ),  # fmt: skip
        "funnel-daily": Table(
            "每日新增",
            ["日期", *stage_names[1:]],
            [(d["day"], *(d["counts"][k] for k in keys[1:])) for d in funnel["daily"]],
        ),
        "funnel-hours": Table(
            "发送后打开时间",
            ["发送后第几小时", "首次打开数"],
            [(f"{h}+" if h == len(funnel["open_by_hour"]) - 1 else h, n) for h, n in enumerate(funnel["open_by_hour"])],
        ),
    }
    return tables


def supervision_tables(scope: Scope) -> dict[str, Table]:
    found = supervision.supervision_for(scope=scope)
    items, summary = found.open, found.summary
    return {
        "supervision-overdue": Table(
            "待办督办",
            ["灯色", "类型", "事项", "起算日期", "办理期限", "责任单位", "区县"],
            [
                (
                    supervision.LIGHT_LABELS[light],
                    item.kind_label,
                    item.title,
                    item.created_on,
                    item.deadline,
                    item.owner,
                    item.region or "—",
                )
                for item, light in items
            ],
        ),  # fmt: skip
        "supervision-kinds": Table(
            "各类待办",
            ["类型", "待办", "超期", "临期", "正常"],
            # A kind that lists its items only once they turn yellow has no 正常 count to show (not a 0).
            [
                (k["label"], k["open"], k["red"], k["yellow"], k["green"] if k["lists_green"] else "—")
                for k in summary["kinds"]
            ],  # fmt: skip
        ),
        "supervision-ranking": Table(
            f"按期办结排名（近{supervision.RANKING_DAYS}天）",
            ["责任单位", "已到期", "按期办结", "按期率", "当前超期", "当前临期"],
            [(r["owner"], r["due"], r["on_time"], _percent(r["rate"]), r["red"], r["yellow"]) for r in found.ranking],
        ),  # fmt: skip
    }


LEVELS = dict(Level.choices)
HALF = 0.5


def coverage_tables(scope: Scope, found: dict | None = None) -> dict[str, Table]:
    found = found or coverage.coverage_for(scope=scope)
    regions = coverage.region_names()
    columns = sorted({r for p in found["policies"] for r in p["by_region"]}, key=lambda r: (r is None, regions.get(r)))
    if scope.region_id is not None:
        columns = [scope.region_id]
    sizes, sections = coverage.SIZE_LABELS, coverage.section_names()
    breakdown = found["no_open_policy_breakdown"]
    extremes = [p for p in found["policies"] if p["audience"] == 0 or (p["share"] or 0) > HALF]
    return {
        "coverage-policies": Table(
            "政策覆盖",
            ["政策", "层级", "符合条件企业", "占本范围企业", "数据缺失企业"],
            [
                (p["title"], LEVELS.get(p["level"], p["level"]), p["audience"], _percent(p["share"]), p["unknown"])
                for p in found["policies"]
            ],
        ),  # fmt: skip
        "coverage-matrix": Table(
            "政策×区县",
            ["政策", *(regions.get(r, "区县未知") for r in columns)],
            [(p["title"], *(p["by_region"].get(r, 0) for r in columns)) for p in found["policies"]],
        ),
        "coverage-extremes": Table(
            "覆盖异常的政策",
            ["政策", "符合条件企业", "占本范围企业", "情况"],
            [
                (
                    p["title"],
                    p["audience"],
                    _percent(p["share"]),
                    "无企业符合" if p["audience"] == 0 else "超过半数企业符合",
                )
                for p in extremes
            ],
        ),
        "coverage-uncovered": Table(
            "无政策覆盖企业（按区县）",
            ["区县", "企业数"],
            sorted(
                ((regions.get(r, "区县未知"), n) for r, n in found["no_open_policy_by_region"].items()),
                key=lambda row: -row[1],
            ),
        ),  # fmt: skip
        "coverage-uncovered-sizes": Table(
            "无政策覆盖企业（按规模）",
            ["企业规模", "企业数"],
            [(sizes.get(s, s), n) for s, n in sorted(breakdown["size"].items(), key=lambda kv: -kv[1]) if n],
        ),
        "coverage-uncovered-sections": Table(
            "无政策覆盖企业（按行业门类）",
            ["行业门类", "企业数"],
            [(f"{s} {sections.get(s, '')}", n) for s, n in sorted(breakdown["section"].items(), key=lambda kv: -kv[1])],
        ),
        "coverage-labels": Table(
            "暂无在办政策的政策标签",
            ["大类", "编码", "标签"],
            list(coverage.labels_without_open_policy(scope=scope)),
        ),
        "coverage-tags": Table(
            "未被任何受众规则使用的画像标签",
            ["大类", "编码", "标签"],
            list(coverage.unused_tags(codes=found["unused_tags"])),
        ),
    }


def gaps_tables(scope: Scope, found: dict | None = None) -> dict[str, Table]:
    found = found or coverage.coverage_for(scope=scope)
    gaps = coverage.register_gaps(scope=scope)
    labels = coverage.FIELD_LABELS
    policies = sorted((p for p in found["policies"] if p["unknown"]), key=lambda p: -p["unknown"])
    return {
        "gaps-policies": Table(
            "政策数据缺失",
            ["政策", "符合条件企业", "数据缺失企业", "缺失字段（企业数）", "提示"],
            [(p["title"], p["audience"], p["unknown"], _missing(p, labels), _hint(p, labels)) for p in policies],
        ),
        "gaps-fields": Table(
            "企业数据字段缺失",
            ["字段", "缺失企业数", "占比"],
            [(label, n, _share(n, gaps["firms"])) for label, n in sorted(gaps["fields"], key=lambda kv: -kv[1])],
        ),
        "gaps-sources": Table(
            "画像标签来源缺失",
            ["标签来源", "无该来源标签的企业", "占比"],
            [(label, n, _share(n, gaps["firms"])) for label, n in gaps["sources"]],
        ),
    }


def _missing(policy: dict, labels: dict) -> str:
    ordered = sorted(policy["missing"].items(), key=lambda kv: -kv[1])
    return "；".join(f"{labels.get(f, f)} {n:,}" for f, n in ordered if n)


def _hint(policy: dict, labels: dict) -> str:
    if not policy["missing"]:
        return ""
    field, n = max(policy["missing"].items(), key=lambda kv: kv[1])
    return f"若补齐“{labels.get(field, field)}”，最多 {n:,} 家企业可能符合条件" if n else ""


def _percent(value: float | None) -> Percent | None:
    return None if value is None else Percent(value)


SECTIONS: dict[str, Callable[[Scope, FunnelFilter], dict[str, Table]]] = {
    "funnel": lambda scope, filters: funnel_tables(funnel_for(scope=scope, filters=filters)),
    "supervision": lambda scope, filters: supervision_tables(scope),
    "coverage": lambda scope, filters: coverage_tables(scope),
    "gaps": lambda scope, filters: gaps_tables(scope),
}


def section_of(table: str) -> str | None:
    section = table.split("-", 1)[0]
    return section if section in SECTIONS else None


def section_tables(section: str, *, scope: Scope, filters: FunnelFilter) -> dict[str, Table]:
    return SECTIONS[section](scope, filters)
