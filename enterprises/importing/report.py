"""The error report of an import: every refused cell as a CSV row that a clerk can open in Excel."""

from __future__ import annotations

import csv
import tempfile
from pathlib import Path

from enterprises.importing.rows import RowError

ERROR_PREVIEW = 200  # refused cells kept in memory (and shown on screen); the report has them all


class ErrorReport:
    """Refused rows as a CSV (UTF-8 with BOM, so Excel opens it), streamed to disk."""

    HEADER = ["行号", "列", "值", "原因"]

    def __init__(self, path: Path | None):
        self.path = path or Path(tempfile.mkstemp(prefix="import-errors-", suffix=".csv")[1])
        self.handle = open(self.path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115 - closed in close()
        self.writer = csv.writer(self.handle)
        self.writer.writerow(self.HEADER)
        self.preview: list[RowError] = []

    def add(self, error: RowError) -> None:
        self.writer.writerow([error.row, error.column, error.value, error.reason])
        if len(self.preview) < ERROR_PREVIEW:
            self.preview.append(error)

    def close(self) -> None:
        self.handle.close()
