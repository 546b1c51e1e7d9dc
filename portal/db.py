"""Set-based database helpers for bulk work (PostgreSQL ``COPY``)."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence

from django.db import connection


def copy_value(value) -> str:
    """One field in PostgreSQL's text COPY format."""
    if value is None:
        return r"\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    text = str(value)
    if any(ch in text for ch in "\\\t\n\r"):
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


def copy_rows(table: str, columns: Sequence[str], rows: Iterable[Sequence], *, chunk_rows: int = 50_000) -> int:
    """Stream ``rows`` into ``table`` with COPY in chunks, so memory stays bounded; returns the row count."""
    sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
    total = 0
    buffer = io.StringIO()
    pending = 0
    with connection.cursor() as cursor:
        for row in rows:
            buffer.write("\t".join(map(copy_value, row)))
            buffer.write("\n")
            pending += 1
            if pending == chunk_rows:
                buffer.seek(0)
                cursor.copy_expert(sql, buffer)
                total += pending
                buffer = io.StringIO()
                pending = 0
        if pending:
            buffer.seek(0)
            cursor.copy_expert(sql, buffer)
            total += pending
    return total
