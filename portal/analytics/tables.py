"""Every table the dashboard shows, as header + rows: the page renders them and the XLSX export writes the
very same ones, so a download always matches the screen. Tables are grouped by the section that computes
them; ``section_tables`` computes one section for a scope and filter."""

from __future__ import annotations

from collections.abc import Callable

from policies.scope import Scope
from portal.analytics import stages as funnel_stages
from portal.analytics.exports import Percent, Table
from portal.analytics.selectors import supervision
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
    items = supervision.open_items(scope=scope)
    summary = supervision.lights_summary(scope=scope)
    return {
        "supervision-overdue": Table(
            "待办督办",
            ["灯色", "类型", "事项", "收到日期", "办理期限", "责任单位", "区县"],
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
            [(k["label"], k["open"], k["red"], k["yellow"], k["green"]) for k in summary["kinds"]],
        ),
        "supervision-ranking": Table(
            f"按期办结排名（近{supervision.RANKING_DAYS}天）",
            ["责任单位", "已到期", "按期办结", "按期率", "当前超期", "当前临期"],
            [
                (r["owner"], r["due"], r["on_time"], _percent(r["rate"]), r["red"], r["yellow"])
                for r in supervision.owner_ranking(scope=scope)
            ],
        ),  # fmt: skip
    }


def _percent(value: float | None) -> Percent | None:
    return None if value is None else Percent(value)


SECTIONS: dict[str, Callable[[Scope, FunnelFilter], dict[str, Table]]] = {
    "funnel": lambda scope, filters: funnel_tables(funnel_for(scope=scope, filters=filters)),
    "supervision": lambda scope, filters: supervision_tables(scope),
}


def section_of(table: str) -> str | None:
    section = table.split("-", 1)[0]
    return section if section in SECTIONS else None


def section_tables(section: str, *, scope: Scope, filters: FunnelFilter) -> dict[str, Table]:
    return SECTIONS[section](scope, filters)
