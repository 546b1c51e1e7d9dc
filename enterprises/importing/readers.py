"""Rows of text from an uploaded table: CSV (UTF-8 with or without BOM, GBK/GB18030) or XLSX."""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from enterprises.importing.columns import COLUMNS, canonical_label
from enterprises.importing.rows import WHOLE_ROW, RowError

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls and other Office binaries
SAMPLE_BYTES = 256 * 1024
XLSX_LAST_ROW = 1_048_576  # Excel's last row; a sheet cannot have more
JSON_LINE_BYTES = 64 * 1024  # one firm's record is well under 2 KB; longer lines are refused unread
# Bytes no text table holds (C0 controls other than tab, newline, carriage return, escape and NUL).
_BINARY_BYTES = re.compile(rb"[\x01-\x08\x0b\x0c\x0e-\x1a\x1c-\x1f]")


class NotATable(Exception):
    """The file cannot be read as a table at all; the message says why, in Chinese."""


@dataclass
class Table:
    headers: list[str]
    # (row number as people count it in the file, cells), or the reason a row cannot be read at all (a
    # RowError, for JSON lines that are not records), in file order.
    rows: Iterator[tuple[int, list[str] | RowError]]
    format: str
    encoding: str = ""
    progress: callable = field(default=lambda: 0.0)  # fraction of the file read so far
    size_bytes: int = 0
    closers: list = field(default_factory=list)  # what the reader opened, closed by close()

    def close(self) -> None:
        """Release the file (and workbook) the reader opened, whether or not the rows were read."""
        for close in self.closers:
            close()
        self.closers = []


def open_table(source: str | Path | BinaryIO, *, encoding: str | None = None) -> Table:
    """A table from a path (opened here, closed by ``Table.close``) or an open binary file."""
    if not isinstance(source, (str, Path)):
        return _open_table(source, encoding)
    handle = open(source, "rb")  # noqa: SIM115 - closed by Table.close, or below when the file is refused
    try:
        table = _open_table(handle, encoding)
    except BaseException:
        handle.close()
        raise
    table.closers.append(handle.close)
    return table


def _open_table(handle: BinaryIO, encoding: str | None) -> Table:
    head = handle.read(SAMPLE_BYTES)
    handle.seek(0)
    if not head.strip():
        raise NotATable("文件为空。")
    if head.startswith(XLSX_MAGIC):
        return _open_xlsx(handle)
    if head.startswith(OLE_MAGIC):
        raise NotATable("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 .csv 后再导入。")
    if _looks_binary(head):
        raise NotATable("文件不是表格（包含二进制内容），请上传 .csv 或 .xlsx 文件。")
    return _open_csv(handle, head, encoding)


def _looks_binary(head: bytes) -> bool:
    """Binary files are full of NULs and control bytes; a CSV with a stray NUL in a cell is still a table
    (that cell is refused with its row and column)."""
    nuls = head.count(b"\x00")
    return bool(nuls) and (nuls * 10 > len(head) or _BINARY_BYTES.search(head) is not None)


def detect_encoding(sample: bytes) -> str:
    """UTF-8 (with or without BOM) if the sample decodes as such, else GB18030 (a superset of GBK)."""
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _open_csv(handle: BinaryIO, head: bytes, encoding: str | None) -> Table:
    encoding = encoding or detect_encoding(head)
    if encoding.lower().replace("-", "") in {"gbk", "gb2312"}:
        encoding = "gb18030"  # decodes everything GBK does, and more
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise NotATable(f"不认识的文件编码“{encoding}”。") from None
    text = io.TextIOWrapper(handle, encoding=encoding, errors="strict", newline="")
    try:
        sample = text.read(64 * 1024)
    except UnicodeDecodeError:
        raise NotATable(f"文件无法按 {encoding} 编码读取，请确认编码（如 UTF-8 或 GBK）。") from None
    text.seek(0)
    try:
        dialect = csv.Sniffer().sniff(sample.split("\n", 1)[0], delimiters=",\t;")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(text, delimiter=delimiter)
    size = max(handle.seek(0, io.SEEK_END), 1)
    handle.seek(0)
    text.seek(0)
    try:
        headers = next(reader)
    except StopIteration:
        raise NotATable("文件为空。") from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise NotATable(f"无法读取表头：{exc}") from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for cells in reader:
                if "".join(cells).strip():
                    yield reader.line_num, cells
        except UnicodeDecodeError:
            raise NotATable(f"第 {reader.line_num + 1} 行附近无法按 {encoding} 编码读取，请确认文件编码。") from None
        except csv.Error as exc:
            raise NotATable(f"第 {reader.line_num} 行格式错误：{exc}") from None
        finally:
            handle.close()

    def progress() -> float:
        try:
            return min(handle.tell() / size, 1.0)
        except (ValueError, OSError):
            return 1.0

    return Table([h.strip() for h in headers], rows(), "csv", encoding, progress, size)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _open_xlsx(handle: BinaryIO) -> Table:
    """The first sheet, read as a stream. What the file claims about itself is not trusted: its unpacked
    size is checked first, its stated dimension (which may say 16,384 columns × 1,048,576 rows for three
    cells) is ignored, and rows are never wider than the column limit allows."""
    from zipfile import BadZipFile, ZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        with ZipFile(handle) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
        handle.seek(0)
        limit = settings.IMPORT_MAX_UNPACKED_BYTES
        if unpacked > limit:
            raise NotATable(f"Excel 文件解压后超过 {limit / 2**20:,.1f} MB 的上限，请另存为 .csv 后再导入。")
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise NotATable(f"无法读取 Excel 文件：{exc.__class__.__name__}。请确认文件为 .xlsx 格式且未损坏。") from None
    size = handle.seek(0, io.SEEK_END)
    handle.seek(0)
    sheet = workbook.worksheets[0]
    total = min(max(sheet.max_row or 1, 1), XLSX_LAST_ROW)
    claimed_width = sheet.max_column or 0
    sheet.reset_dimensions()  # otherwise empty rows are made up to the claimed last row and column
    position = {"row": 0}

    def advance() -> None:
        position["row"] += 1
        if position["row"] > XLSX_LAST_ROW:
            raise NotATable(f"Excel 工作表的行号超过 {XLSX_LAST_ROW:,}，文件可能已损坏。请另存为 .csv 后再导入。")

    def unreadable(exc: Exception) -> NotATable:
        return NotATable(f"Excel 文件内容有误（{exc.__class__.__name__}），无法读取。请另存为 .csv 后再导入。")

    headers = None
    try:
        # The header row at its real width, so a header past the column limit is seen and refused.
        before_header = sheet.iter_rows(values_only=True)
        try:
            for values in before_header:
                advance()
                if any(v not in (None, "") for v in values):
                    headers = [_cell(v).strip() for v in values]
                    break
        finally:
            before_header.close()
        if headers is None:
            raise NotATable("文件为空。")
        # Data rows as wide as the sheet says, but never past the column limit (one more shows extra cells).
        width = min(max(claimed_width, len(headers)), settings.IMPORT_MAX_COLUMNS + 1)
        headers += [""] * (width - len(headers))
        iterator = sheet.iter_rows(min_row=position["row"] + 1, max_col=width, values_only=True)
    except NotATable:
        workbook.close()
        raise
    except Exception as exc:  # noqa: BLE001 - a damaged sheet: refused with a reason, never a crash
        workbook.close()
        raise unreadable(exc) from None

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for values in iterator:
                advance()
                if values.count(None) == len(values):
                    continue  # an empty row (or a gap in the sheet), skipped without looking at each cell
                cells = [_cell(v) for v in values]
                if any(c.strip() for c in cells):
                    yield position["row"], cells
        except NotATable:
            raise
        except Exception as exc:  # noqa: BLE001
            raise unreadable(exc) from None
        finally:
            workbook.close()

    table = Table(headers, rows(), "xlsx", "", lambda: min(position["row"] / total, 1.0), size)
    table.closers.append(workbook.close)
    return table


def _scalar(value) -> bool:
    return value is None or isinstance(value, (str, int, float))


def _json_line(number: int, raw: bytes) -> tuple[dict | None, str]:
    """One line as an object with the documented headers as keys, or None and why it is refused."""
    line = raw.decode("utf-8", errors="replace").strip()
    if number == 1:
        line = line.lstrip("\ufeff")
    if not line:
        return None, ""
    try:
        item = json.loads(line)
    except RecursionError:
        return None, f"第 {number} 行嵌套过深，应为一个企业的 JSON 对象。"
    except json.JSONDecodeError as exc:
        return None, f"第 {number} 行不是有效的 JSON：{exc.msg}"
    except ValueError:  # an integer literal with thousands of digits
        return None, f"第 {number} 行含有过长的数字。"
    if not isinstance(item, dict):
        return None, f"第 {number} 行应为一个 JSON 对象"
    for key, value in item.items():
        if not (_scalar(value) or (isinstance(value, list) and all(map(_scalar, value)))):
            return None, f"第 {number} 行“{key}”的值应为文字或数字（企业标签可为文字数组）。"
    if "\\u" in line:  # a lone surrogate (\ud800) cannot be stored
        try:
            json.dumps(item, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            return None, f"第 {number} 行含有无效的 Unicode 字符。"
    # Systems may send Chinese or English keys; each object's keys become the documented headers.
    return {canonical_label(k): v for k, v in item.items()}, ""


def _physical_lines(handle: BinaryIO) -> Iterator[bytes | None]:
    """The body's lines, or None for a line too long to be a record (skipped without keeping it)."""
    handle.seek(0)
    while raw := handle.readline(JSON_LINE_BYTES + 1):
        if len(raw) <= JSON_LINE_BYTES or raw.endswith(b"\n"):
            yield raw
            continue
        while (rest := handle.readline(JSON_LINE_BYTES)) and not rest.endswith(b"\n"):
            pass
        yield None


def _json_lines(handle: BinaryIO) -> Iterator[tuple[int, dict | None, str]]:
    for number, raw in enumerate(_physical_lines(handle), 1):
        if raw is None:
            yield number, None, f"第 {number} 行超过 {JSON_LINE_BYTES // 1024} KB，不是一个企业的记录。"
            continue
        item, reason = _json_line(number, raw)
        if item is not None or reason:
            yield number, item, reason


def _json_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, list):  # tags as an array
        return ";".join(_cell(v) for v in value if v is not None)
    return _cell(value)


def json_lines_table(handle: BinaryIO) -> Table:
    """A table from JSON lines (one object per line, keys as in a file's header). A line that is not an
    object of plain values comes as the reason it is refused, in its place among the rows.

    Read twice, to learn the headers and then to hand over the rows, so memory stays bounded by one line.
    """
    size = handle.seek(0, io.SEEK_END)
    headers: list[str] = []
    seen: set[str] = set()
    for _, item, _ in _json_lines(handle):
        for key in item or ():
            if key not in seen:
                seen.add(key)
                headers.append(key)
    if not seen:  # no object at all: nothing to import, and the refused lines say why
        headers = [column.label for column in COLUMNS if column.required]

    def rows() -> Iterator[tuple[int, list[str] | RowError]]:
        for number, item, reason in _json_lines(handle):
            if item is None:
                yield number, RowError(number, WHOLE_ROW, "", reason)
            else:
                yield number, [_json_cell(item.get(h)) for h in headers]

    def progress() -> float:
        try:
            return min(handle.tell() / max(size, 1), 1.0)
        except (ValueError, OSError):
            return 1.0

    return Table(headers, rows(), "jsonl", "utf-8", progress, size)
