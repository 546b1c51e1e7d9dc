"""Application states reported by departments (常规申报 / 即申即享): the API's JSON lines and staff's XLSX.

Each line is checked in Python for its shape, then the whole batch goes into a temporary table with COPY
and is resolved, scoped, ordered and written in a few set-based statements, so a million lines take
seconds, not a million ORM calls. Rules:

- scope: a caller reports only on policies of its own departments (``reporting_scope``, the one place
  that decides, so hashed scoped tokens can replace it later);
- idempotent: an application is (department, ``external_id``), and each of its states is recorded once,
  so a repeated line changes nothing and is counted as unchanged;
- forward only: 已受理 → 审核中 → 已公示 → 已拨付, or 未通过 from any of them; a state behind the current one
  (or any change after 已拨付 / 未通过) is refused, with the line number and the reason.
"""

from __future__ import annotations

import datetime
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from core.db import copy_value
from enterprises.models import Enterprise
from portal.payouts.models import (
    APPLICATION_RANK,
    APPLICATION_TERMINAL,
    Application,
    ApplicationEvent,
    ApplicationReporter,
    ApplicationStatus,
)

ALL = None  # reporting_scope's answer for "every department"
MAX_ERRORS = 10_000  # refused lines listed in one answer (the counts always cover all)
COLUMNS = {  # Chinese or English keys / XLSX headers -> field
    "uscc": "uscc",
    "统一社会信用代码": "uscc",
    "policy": "policy",
    "政策编号": "policy",
    "政策ID": "policy",
    "external_id": "external_id",
    "申报编号": "external_id",
    "status": "status",
    "状态": "status",
    "办理状态": "status",
    "reason": "reason",
    "说明": "reason",
    "原因": "reason",
    "amount": "amount",
    "金额": "amount",
    "金额（元）": "amount",
    "at": "at",
    "时间": "at",
    "发生时间": "at",
}
STATUS_WORDS = {**{s.label: s.value for s in ApplicationStatus}, **{s.value: s.value for s in ApplicationStatus}}
FIELDS = {"uscc", "policy", "external_id", "status", "reason", "amount", "at"}
RANKS = {status: str(rank) for status, rank in APPLICATION_RANK.items()}


def reporting_scope(*, user) -> set[int] | None:
    """The departments this caller may report applications for (ALL for superusers); refuses callers
    without the permission. The one check to swap when integration tokens become hashed and scoped."""
    if not (user and user.is_authenticated and user.has_perm("payouts.report_application")):
        raise PermissionDenied("该账号无权上报申报办理状态。")
    if user.is_superuser:
        return ALL
    return set(ApplicationReporter.objects.filter(user=user).values_list("department_id", flat=True))


@dataclass
class ReportResult:
    received: int = 0
    accepted: int = 0
    unchanged: int = 0
    refused: int = 0
    errors: list[dict] = field(default_factory=list)

    def refuse(self, line: int, reason: str, external_id: str = "") -> None:
        self.refused += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append({"line": line, "external_id": external_id, "reason": reason})

    def summary(self) -> str:
        return f"共 {self.received:,} 行：更新 {self.accepted:,}，未变化 {self.unchanged:,}，拒绝 {self.refused:,}"


# --- reading lines ------------------------------------------------------------------------------------------


def json_lines(stream: Iterable[bytes]) -> Iterator[tuple[int, dict | str]]:
    """(line number, object) for each non-empty line; a line that is not a JSON object gives its reason."""
    for number, raw in enumerate(stream, 1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            yield number, f"不是有效的 JSON：{getattr(exc, 'msg', exc)}"
            continue
        yield number, item if isinstance(item, dict) else "应为一个 JSON 对象"


def table_lines(headers: list[str], rows: Iterable[tuple[int, list]]) -> Iterator[tuple[int, dict | str]]:
    """The same from a spreadsheet's rows (``enterprises.importing.readers.open_table``)."""
    keys = [COLUMNS.get(str(h).strip()) for h in headers]
    for number, cells in rows:
        if not any(str(c).strip() for c in cells):
            continue
        yield number, {k: c for k, c in zip(keys, cells, strict=False) if k}


def _clean(item: dict, now: datetime.datetime, when) -> tuple[str | None, str]:
    """One line as a COPY row for the batch table (after its line number), or the reason it is refused."""
    if any(k not in FIELDS for k in item):
        item = {COLUMNS.get(k, k): v for k, v in item.items()}
    uscc = str(item.get("uscc") or "").strip().upper()
    if len(uscc) != 18 or not uscc.isalnum():
        return None, "统一社会信用代码应为 18 位"
    policy = item.get("policy")
    if type(policy) is not int:
        try:
            policy = int(str(policy or "").strip())
        except ValueError:
            return None, "政策编号（policy）应为政策的数字编号"
    if not 0 < policy < 2**63:
        return None, "政策编号（policy）应为政策的数字编号"
    external_id = str(item.get("external_id") or "").strip()
    if not external_id or len(external_id) > 64 or "\x00" in external_id:
        return None, "申报编号（external_id）不能为空，且不超过 64 个字符"
    status = STATUS_WORDS.get(str(item.get("status") or "").strip())
    if status is None:
        return None, "状态（status）应为 已受理 / 审核中 / 已公示 / 已拨付 / 未通过 之一"
    reason = str(item.get("reason") or "").replace("\x00", "")[:300]
    amount = item.get("amount")
    if amount in (None, ""):
        amount = None
    else:
        try:
            amount = Decimal(str(amount).replace(",", ""))
        except InvalidOperation:
            return None, "金额（amount）应为数字（元）"
        if not amount.is_finite() or amount < 0 or amount >= Decimal("1e12"):
            return None, "金额（amount）应为不小于 0 的数字（元）"
    at = when(item.get("at"))
    if at is None:
        return None, "时间（at）应为 ISO 日期或时间，如 2026-03-01 或 2026-03-01T09:30:00+08:00，且不晚于明天"
    if status == ApplicationStatus.REJECTED and not reason:
        return None, "状态为“未通过”时须填写原因（reason）"
    row = (uscc, str(policy), copy_value(external_id), status, RANKS[status], copy_value(reason),
           "\\N" if amount is None else str(amount), at)  # fmt: skip
    return "\t".join(row), ""


def _parser(now: datetime.datetime):
    """``at`` → the timestamp's COPY text, or None; remembered per distinct text (a batch repeats its days)."""
    zone, latest, seen = timezone.get_current_timezone(), now + datetime.timedelta(days=1), {}

    def when(value) -> str | None:
        if value in (None, ""):
            return now.isoformat()
        key = value if isinstance(value, str) else repr(value)
        if key in seen:
            return seen[key]
        moment = None
        if isinstance(value, datetime.datetime):
            moment = value
        elif isinstance(value, datetime.date):
            moment = datetime.datetime.combine(value, datetime.time(12))
        else:
            text = str(value).strip()
            try:
                moment = datetime.datetime.fromisoformat(text)
                if len(text) <= 10:  # a day: noon, so no time zone moves it to another day
                    moment = moment.replace(hour=12)
            except ValueError:
                moment = None
        if moment is not None and moment.tzinfo is None:
            moment = moment.replace(tzinfo=zone)
        result = moment.isoformat() if moment is not None and moment <= latest else None
        if len(seen) < 100_000:
            seen[key] = result
        return result

    return when


# --- the batch ---------------------------------------------------------------------------------------------

RANK_SQL = "CASE {col} " + " ".join(f"WHEN '{s}' THEN {r}" for s, r in APPLICATION_RANK.items()) + " END"
TERMINAL_SQL = "({col} IN (" + ", ".join(f"'{s}'" for s in APPLICATION_TERMINAL) + "))"
STATUS_LABELS_SQL = "CASE {col} " + " ".join(f"WHEN '{s.value}' THEN '{s.label}'" for s in ApplicationStatus) + " END"


def applications_report(*, user, lines: Iterable[tuple[int, dict | str]], chunk: int = 50_000) -> ReportResult:
    """Record the reported states of ``lines`` ((line number, object or refusal)) for ``user``'s departments."""
    scope = reporting_scope(user=user)
    result = ReportResult()
    now = timezone.now()
    when = _parser(now)
    with transaction.atomic(), connection.cursor() as cursor:
        # One batch at a time: states of the same application in two batches must not cross.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('payouts.applications_report'))")
        cursor.execute(
            "DROP TABLE IF EXISTS app_in, app_lines, app_outcome; CREATE TEMP TABLE app_in (line int, uscc text, "
            "policy_id bigint, external_id text, status text, rank int, reason text, amount numeric, "
            "at timestamptz) ON COMMIT DROP"
        )
        buffer, pending = io.StringIO(), 0
        for number, item in lines:
            result.received += 1
            row, problem = (None, item) if isinstance(item, str) else _clean(item, now, when)
            if row is None:
                external = str(item.get("external_id", ""))[:64] if isinstance(item, dict) else ""
                result.refuse(number, problem, external)
                continue
            buffer.write(f"{number}\t{row}\n")
            pending += 1
            if pending >= chunk:
                buffer.seek(0)
                cursor.copy_expert("COPY app_in FROM STDIN", buffer)
                buffer, pending = io.StringIO(), 0
        if pending:
            buffer.seek(0)
            cursor.copy_expert("COPY app_in FROM STDIN", buffer)
        _write_batch(cursor, scope, result, now)
    result.errors.sort(key=lambda e: e["line"])
    return result


def _write_batch(cursor, scope: set[int] | None, result: ReportResult, now: datetime.datetime) -> None:
    app, event = Application._meta.db_table, ApplicationEvent._meta.db_table
    in_scope = "" if scope is ALL else "WHERE pd.department_id = ANY(%s)"
    params = [] if scope is ALL else [sorted(scope)]
    # Resolve every line in one pass: the firm, the policy's department in the caller's scope, the application.
    cursor.execute(
        f"""CREATE TEMP TABLE app_lines ON COMMIT DROP AS
            SELECT i.*, e.id AS enterprise_id, p.id IS NOT NULL AS policy_known, d.department_id,
                   x.id AS application_id, x.status AS current_status, x.enterprise_id AS current_enterprise,
                   x.policy_id AS current_policy
            FROM app_in i
            LEFT JOIN {Enterprise._meta.db_table} e ON e.uscc = i.uscc
            LEFT JOIN policies_policy p ON p.id = i.policy_id
            LEFT JOIN (SELECT pd.policy_id, min(pd.department_id) AS department_id
                       FROM policies_policy_departments pd {in_scope} GROUP BY pd.policy_id) d
                   ON d.policy_id = i.policy_id
            LEFT JOIN {app} x ON x.department_id = d.department_id AND x.external_id = i.external_id""",
        params,
    )
    rank_current = RANK_SQL.format(col="current_status")
    cursor.execute(
        f"""CREATE TEMP TABLE app_outcome ON COMMIT DROP AS
            SELECT l.*,
              CASE
                WHEN enterprise_id IS NULL THEN '统一社会信用代码未在企业库登记：' || uscc
                WHEN NOT policy_known THEN '政策不存在：' || policy_id
                WHEN department_id IS NULL THEN '无权上报此政策：政策不属于本账号所属部门'
                WHEN application_id IS NOT NULL AND (current_enterprise <> enterprise_id OR current_policy <> policy_id)
                  THEN '申报编号已用于其他企业或政策：' || external_id
                WHEN seen THEN NULL
                WHEN {TERMINAL_SQL.format(col="current_status")}
                  THEN '该申报已办结（' || {STATUS_LABELS_SQL.format(col="current_status")} || '），不能再变更'
                WHEN ended_before THEN '该申报已在本批此前的行中办结，不能再变更'
                WHEN rank < GREATEST(COALESCE({rank_current}, 0), COALESCE(rank_before, 0))
                  THEN '状态不能回退：已是' || COALESCE({STATUS_LABELS_SQL.format(col="current_status")}, '更后的状态')
              END AS error
            FROM (
              SELECT a.*,
                EXISTS (SELECT 1 FROM {event} v WHERE v.application_id = a.application_id AND v.status = a.status)
                  OR row_number() OVER (PARTITION BY department_id, external_id, status ORDER BY line) > 1 AS seen,
                max(rank) OVER w AS rank_before,
                bool_or({TERMINAL_SQL.format(col="status")}) OVER w AS ended_before
              FROM app_lines a
              WINDOW w AS (PARTITION BY department_id, external_id ORDER BY line
                           ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
            ) l"""
    )
    cursor.execute(
        "SELECT line, external_id, error FROM app_outcome WHERE error IS NOT NULL ORDER BY line LIMIT %s",
        [MAX_ERRORS],
    )
    for line, external_id, error in cursor.fetchall():
        result.refuse(line, error, external_id)
    cursor.execute(
        "SELECT count(*) FILTER (WHERE error IS NOT NULL), count(*) FILTER (WHERE error IS NULL AND seen), "
        "count(*) FILTER (WHERE error IS NULL AND NOT seen) FROM app_outcome"
    )
    refused, unchanged, accepted = cursor.fetchone()
    result.refused += refused - min(refused, MAX_ERRORS)  # those past the listed ones still count
    result.unchanged, result.accepted = unchanged, accepted
    cursor.execute("DELETE FROM app_outcome WHERE error IS NOT NULL OR seen")
    # New applications, at their furthest reported state; then existing ones moved forward; then the events.
    cursor.execute(
        f"""INSERT INTO {app} (department_id, external_id, enterprise_id, policy_id, status, reason, amount,
                               status_at, created_at, updated_at)
            SELECT DISTINCT ON (department_id, external_id) department_id, external_id, enterprise_id, policy_id,
                   status, reason, amount, at, %s, %s
            FROM app_outcome WHERE application_id IS NULL
            ORDER BY department_id, external_id, rank DESC, line DESC
            ON CONFLICT (department_id, external_id) DO NOTHING""",
        [now, now],
    )
    cursor.execute(
        f"""UPDATE app_outcome o SET application_id = x.id FROM {app} x
            WHERE o.application_id IS NULL AND x.department_id = o.department_id AND x.external_id = o.external_id"""
    )
    cursor.execute(
        f"""UPDATE {app} x SET status = f.status, reason = f.reason, amount = COALESCE(f.amount, x.amount),
                   status_at = f.at, updated_at = %s
            FROM (SELECT DISTINCT ON (application_id) application_id, status, rank, reason, amount, at
                  FROM app_outcome ORDER BY application_id, rank DESC, line DESC) f
            WHERE x.id = f.application_id AND {RANK_SQL.format(col="x.status")} < f.rank""",
        [now],
    )
    cursor.execute(
        f"""INSERT INTO {event} (application_id, status, reason, amount, at, reported_at)
            SELECT application_id, status, reason, amount, at, %s FROM app_outcome
            ON CONFLICT (application_id, status) DO NOTHING""",
        [now],
    )
