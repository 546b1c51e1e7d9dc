"""To finance and back: the confirmed list as XLSX or CSV for the paying unit, and its results read back.

The export streams: rows come from a server-side cursor in chunks, the XLSX is written row by row into its
zip entry (``xlsx``) and the CSV is a generator, so a
400,000-row list never sits in memory. Both end with a 合计 row (firms, amount) and a 校验 row: the
SHA-256 of the data rows (``uscc|account|amount`` lines), which the paying unit can recompute.
Every text cell goes through ``excel_safe``, so nothing a firm typed runs as a formula.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
from collections.abc import Iterable, Iterator
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from core.spreadsheets import excel_safe
from enterprises.models import Enterprise
from portal.payouts import xlsx
from portal.payouts.applications import ReportResult
from portal.payouts.crypto import decrypt
from portal.payouts.models import PayoutAudit, PayoutEntry, PayoutRound

EntryStatus = PayoutEntry.Status
HEADERS = ["序号", "企业名称", "统一社会信用代码", "开户银行", "收款账号", "金额（元）"]
FETCH = 10_000


def export_rows(*, round_: PayoutRound) -> Iterator[tuple]:
    """(n, name, uscc, bank, account, amount) of each confirmed, unpaid firm, by firm id, from a server-side
    cursor: a few thousand rows in memory at a time."""
    with connection.chunked_cursor() as cursor:
        cursor.itersize = FETCH
        cursor.execute(
            f"""SELECT e.name, e.uscc, p.bank_name, p.account_encrypted, p.amount
                FROM {PayoutEntry._meta.db_table} p JOIN {Enterprise._meta.db_table} e ON e.id = p.enterprise_id
                WHERE p.round_id = %s AND p.status = %s ORDER BY p.enterprise_id""",
            [round_.pk, EntryStatus.CONFIRMED],
        )
        n = 0
        while rows := cursor.fetchmany(FETCH):
            for name, uscc, bank, token, amount in rows:
                n += 1
                yield n, name, uscc, bank, decrypt(token), amount


class Totals:
    """Count, sum and checksum of the rows as they pass."""

    def __init__(self) -> None:
        self.count, self.amount, self.digest = 0, Decimal(0), hashlib.sha256()

    def add(self, uscc: str, account: str, amount: Decimal) -> None:
        self.count += 1
        self.amount += amount
        self.digest.update(f"{uscc}|{account}|{amount:.2f}\n".encode())

    def rows(self) -> list[list]:
        return [
            ["合计", f"{self.count} 户", "", "", "", self.amount],
            ["校验", "SHA-256（统一社会信用代码|收款账号|金额 每行一条）", self.digest.hexdigest(), "", "", ""],
        ]


def title(round_: PayoutRound) -> str:
    return f"拨付名单 · {round_.policy.title} · {round_.name}（批次 {round_.pk}）"


def write_xlsx(*, round_: PayoutRound, target) -> Totals:
    """The list as an XLSX into ``target`` (a path or binary file), streamed row by row (``xlsx.SheetWriter``)."""
    totals = Totals()
    styles = (xlsx.PLAIN, xlsx.PLAIN, xlsx.PLAIN, xlsx.PLAIN, xlsx.PLAIN, xlsx.MONEY)
    with xlsx.SheetWriter(target, "拨付名单", widths=(8, 36, 24, 28, 26, 16)) as sheet:
        sheet.row([excel_safe(title(round_))], (xlsx.BOLD,))
        sheet.row(HEADERS, (xlsx.BOLD,) * len(HEADERS))
        for n, firm, uscc, bank, account, amount in export_rows(round_=round_):
            # USCC and account are text cells: as numbers, a spreadsheet would drop digits of the account.
            sheet.row((n, excel_safe(firm), uscc, excel_safe(bank), account, amount), styles)
            totals.add(uscc, account, amount)
        for values in totals.rows():
            sheet.row([excel_safe(v) for v in values], (xlsx.BOLD, xlsx.BOLD, xlsx.PLAIN, 0, 0, xlsx.MONEY))
    return totals


def csv_lines(*, round_: PayoutRound) -> Iterator[str]:
    """The list as CSV text (UTF-8 with BOM, so Excel and WPS read the Chinese), one line at a time."""
    out = io.StringIO()
    writer = csv.writer(out)

    def line(values) -> str:
        out.seek(0)
        out.truncate()
        writer.writerow([excel_safe(v) if isinstance(v, str) else v for v in values])
        return out.getvalue()

    yield "\ufeff" + line(HEADERS)
    totals = Totals()
    for n, firm, uscc, bank, account, amount in export_rows(round_=round_):
        totals.add(uscc, account, amount)
        yield line([n, firm, uscc, bank, account, f"{amount:.2f}"])
    for values in totals.rows():
        yield line([f"{v:.2f}" if isinstance(v, Decimal) else v for v in values])


# --- results back from the bank / finance ------------------------------------------------------------------

RESULT_COLUMNS = {
    "统一社会信用代码": "uscc",
    "uscc": "uscc",
    "结果": "result",
    "拨付结果": "result",
    "result": "result",
    "金额": "amount",
    "金额（元）": "amount",
    "拨付金额": "amount",
    "amount": "amount",
    "日期": "date",
    "拨付日期": "date",
    "date": "date",
    "原因": "reason",
    "失败原因": "reason",
    "reason": "reason",
    "流水号": "ref",
    "拨付流水号": "ref",
    "ref": "ref",
}
RESULT_WORDS = {
    "已拨付": EntryStatus.PAID,
    "成功": EntryStatus.PAID,
    "paid": EntryStatus.PAID,
    "失败": EntryStatus.FAILED,
    "拨付失败": EntryStatus.FAILED,
    "failed": EntryStatus.FAILED,
}


def _result_row(cells: dict) -> tuple[tuple | None, str]:
    uscc = str(cells.get("uscc") or "").strip().upper()
    if len(uscc) != 18:
        return None, "统一社会信用代码应为 18 位"
    result = RESULT_WORDS.get(str(cells.get("result") or "").strip())
    if result is None:
        return None, "结果应为“已拨付”或“失败”"
    reason = str(cells.get("reason") or "").strip()[:150]
    if result == EntryStatus.FAILED and not reason:
        return None, "拨付失败须写明原因（如：账号不存在、户名不符）"
    amount = None
    if str(cells.get("amount") or "").strip():
        try:
            amount = Decimal(str(cells["amount"]).replace(",", "").strip()).quantize(Decimal("0.01"))
        except InvalidOperation:
            return None, "金额应为数字（元）"
    if result == EntryStatus.PAID and amount is None:
        return None, "已拨付须填写金额"
    raw_date = cells.get("date")
    if isinstance(raw_date, datetime.datetime):
        day = raw_date.date()
    elif isinstance(raw_date, datetime.date):
        day = raw_date
    else:
        try:
            day = datetime.date.fromisoformat(str(raw_date or "").strip()[:10])
        except ValueError:
            return None, "日期应为 YYYY-MM-DD"
    return (uscc, result, amount, day, reason, str(cells.get("ref") or "").strip()[:64]), ""


def results_rows(headers: list[str], rows: Iterable[tuple[int, list]]) -> Iterator[tuple[int, dict]]:
    keys = [RESULT_COLUMNS.get(str(h).strip()) for h in headers]
    for number, cells in rows:
        if any(str(c).strip() for c in cells):
            yield number, {k: c for k, c in zip(keys, cells, strict=False) if k}


@transaction.atomic
def round_results_import(*, round_: PayoutRound, user, rows: Iterable[tuple[int, dict]]) -> ReportResult:
    """Record paid / failed per firm, set-based. A row already recorded changes nothing; a paid entry never
    changes again; a failed one goes back to the firm to correct its account, and is paid on a later file."""
    from portal.payouts.services import _recount, check_payout_permission

    check_payout_permission(user, "export_payoutround")
    round_ = PayoutRound.objects.select_for_update().get(pk=round_.pk)
    if round_.status not in {PayoutRound.Status.FINANCE, PayoutRound.Status.CLOSED}:
        raise ValidationError("拨付名单导出（报送财政）后才能导入拨付结果。")
    result, good = ReportResult(), []
    for number, cells in rows:
        result.received += 1
        row, problem = _result_row(cells)
        if row is None:
            result.refuse(number, problem)
        else:
            good.append((number, *row))
    table = PayoutEntry._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "DROP TABLE IF EXISTS payout_results; CREATE TEMP TABLE payout_results (line int, uscc text, result text, "
            "amount numeric, day date, reason text, ref text) ON COMMIT DROP"
        )
        if good:
            cursor.execute(
                "INSERT INTO payout_results SELECT * FROM unnest(%s::int[], %s::text[], %s::text[], %s::numeric[], "
                "%s::date[], %s::text[], %s::text[])",
                [list(col) for col in zip(*good, strict=True)],
            )
        cursor.execute(
            f"""SELECT r.line, r.uscc, p.id, p.status, p.paid_amount, p.paid_on, p.payment_ref, p.reason, r.*
                FROM payout_results r
                LEFT JOIN {Enterprise._meta.db_table} e ON e.uscc = r.uscc
                LEFT JOIN {table} p ON p.round_id = %s AND p.enterprise_id = e.id ORDER BY r.line""",
            [round_.pk],
        )
        paid, failed, seen = [], [], set()
        for line, uscc, pk, status, paid_amount, paid_on, ref, reason, *r in cursor.fetchall():
            _, _, result_word, amount, day, why, new_ref = r
            if pk is None:
                result.refuse(line, f"{uscc} 不在本批次名单中")
            elif pk in seen:
                result.refuse(line, f"{uscc} 在文件中重复出现")
            elif status == EntryStatus.PAID:
                same = result_word == EntryStatus.PAID and (paid_amount, paid_on, ref) == (amount, day, new_ref)
                if same:
                    result.unchanged += 1
                else:
                    result.refuse(line, f"{uscc} 已拨付，不能更改")
            elif status == EntryStatus.FAILED and result_word == EntryStatus.FAILED and reason == f"拨付失败：{why}":
                result.unchanged += 1
            elif status not in {EntryStatus.CONFIRMED, EntryStatus.FAILED}:
                result.refuse(line, f"{uscc} 当前为“{EntryStatus(status).label}”，不在拨付名单中")
            else:
                (paid if result_word == EntryStatus.PAID else failed).append((pk, amount, day, why, new_ref))
            seen.add(pk)
        now = timezone.now()
        if paid:
            cursor.execute(
                f"""UPDATE {table} p SET status = %s, paid_amount = x.amount, paid_on = x.day, payment_ref = x.ref,
                      reason = '', updated_at = %s
                    FROM unnest(%s::bigint[], %s::numeric[], %s::date[], %s::text[]) AS x(id, amount, day, ref)
                    WHERE p.id = x.id""",
                [
                    EntryStatus.PAID,
                    now,
                    [p[0] for p in paid],
                    [p[1] for p in paid],
                    [p[2] for p in paid],
                    [p[4] for p in paid],
                ],
            )
        if failed:
            cursor.execute(
                f"""UPDATE {table} p SET status = %s, reason = '拨付失败：' || x.why, paid_on = x.day, updated_at = %s
                    FROM unnest(%s::bigint[], %s::date[], %s::text[]) AS x(id, day, why) WHERE p.id = x.id""",
                [EntryStatus.FAILED, now, [f[0] for f in failed], [f[2] for f in failed], [f[3] for f in failed]],
            )
    result.accepted = len(paid) + len(failed)
    result.errors.sort(key=lambda e: e["line"])
    if result.accepted:
        PayoutAudit.objects.create(
            round=round_, action="导入拨付结果", user=user, reason=f"已拨付 {len(paid)}，失败 {len(failed)}"
        )
        _recount(round_)
        left = PayoutEntry.objects.filter(round=round_, status__in=[EntryStatus.CONFIRMED, EntryStatus.FAILED])
        if not left.exists():
            PayoutRound.objects.filter(pk=round_.pk).update(status=PayoutRound.Status.CLOSED)
    return result
