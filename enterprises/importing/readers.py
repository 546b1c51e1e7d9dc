"""Rows of text from an uploaded table: CSV (UTF-8 with or without BOM, GBK/GB18030) or XLSX."""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from enterprises.importing.columns import canonical_label

XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # legacy .xls and other Office binaries
SAMPLE_BYTES = 256 * 1024


class NotATable(Exception):
    """The file cannot be read as a table at all; the message says why, in Chinese."""


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list[str]]]  # (row number as people count it in the file, cells)
    format: str
    encoding: str = ""
    progress: callable = field(default=lambda: 0.0)  # fraction of the file read so far
    size_bytes: int = 0


def open_table(source: str | Path | BinaryIO, *, encoding: str | None = None) -> Table:
    handle = open(source, "rb") if isinstance(source, (str, Path)) else source  # noqa: SIM115 - closed by the iterator
    head = handle.read(SAMPLE_BYTES)
    handle.seek(0)
    if not head.strip():
        raise NotATable("文件为空。")
    if head.startswith(XLSX_MAGIC):
        return _open_xlsx(handle)
    if head.startswith(OLE_MAGIC):
        raise NotATable("不支持旧版 Excel（.xls）文件，请另存为 .xlsx 或 .csv 后再导入。")
    if b"\x00" in head:
        raise NotATable("文件不是表格（包含二进制内容），请上传 .csv 或 .xlsx 文件。")
    return _open_csv(handle, head, encoding)


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
    from zipfile import BadZipFile

    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(handle, read_only=True, data_only=True)
    except (BadZipFile, InvalidFileException, KeyError, OSError) as exc:
        raise NotATable(f"无法读取 Excel 文件：{exc.__class__.__name__}。请确认文件为 .xlsx 格式且未损坏。") from None
    size = handle.seek(0, io.SEEK_END)
    handle.seek(0)
    sheet = workbook.worksheets[0]
    total = max(sheet.max_row or 1, 1)
    iterator = sheet.iter_rows(values_only=True)
    position = {"row": 0}
    headers = None
    for values in iterator:
        position["row"] += 1
        if values and any(v not in (None, "") for v in values):
            headers = [_cell(v).strip() for v in values]
            break
    if headers is None:
        workbook.close()
        raise NotATable("文件为空。")

    def rows() -> Iterator[tuple[int, list[str]]]:
        try:
            for values in iterator:
                position["row"] += 1
                cells = [_cell(v) for v in values]
                if any(c.strip() for c in cells):
                    yield position["row"], cells
        finally:
            workbook.close()

    return Table(headers, rows(), "xlsx", "", lambda: min(position["row"] / total, 1.0), size)


def json_lines_table(payload: bytes) -> tuple[Table, list[tuple[int, str]]]:
    """A table from JSON lines (one object per line, keys as in a file's header), and the lines that
    are not JSON objects (line number, reason) so they can be refused like bad rows."""
    objects, bad = [], []
    for number, line in enumerate(payload.decode("utf-8-sig", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            bad.append((number, f"第 {number} 行不是有效的 JSON：{exc.msg}"))
            continue
        if not isinstance(item, dict):
            bad.append((number, f"第 {number} 行应为一个 JSON 对象"))
            continue
        # Systems may send Chinese or English keys; each object's keys become the documented headers.
        objects.append((number, {canonical_label(k): v for k, v in item.items()}))
    headers: list[str] = []
    for _, item in objects:
        headers.extend(k for k in item if k not in headers)
    rows = ((number, ["" if item.get(h) is None else _cell(item.get(h)) for h in headers]) for number, item in objects)
    return Table(headers, rows, "jsonl", "utf-8", lambda: 0.0, len(payload)), bad
