"""The error report of an import: every refused cell as a CSV row that a clerk can open in Excel."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import BinaryIO

from core.spreadsheets import excel_safe_row
from enterprises.importing.rows import RowError

ERROR_PREVIEW = 200  # refused cells kept in memory (and shown on screen); the report has them all


class ErrorReport:
    """Refused cells as a CSV (UTF-8 with BOM, so Excel opens it), streamed to ``target``: a path, an open
    binary file (left open for the caller, e.g. an anonymous temporary file that vanishes when closed), or
    nothing (only the preview is kept). The report holds phone numbers, so it is never written anywhere
    the caller did not choose."""

    HEADER = ["行号", "列", "值", "原因"]

    def __init__(self, target: str | Path | BinaryIO | None):
        self.preview: list[RowError] = []
        self.count = 0
        self._owned = None
        if target is None:
            self.handle = None
            return
        if isinstance(target, (str, Path)):
            self.handle = self._owned = open(target, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
        else:
            self.handle = io.TextIOWrapper(target, encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.handle)
        self.writer.writerow(self.HEADER)

    def add(self, error: RowError) -> None:
        self.count += 1
        if self.handle is not None:
            # Cell values come from the file: one starting with "=" must not become a formula in Excel.
            self.writer.writerow(excel_safe_row([error.row, error.column, error.value, error.reason]))
        if len(self.preview) < ERROR_PREVIEW:
            self.preview.append(error)

    def close(self) -> None:
        if self._owned is not None:
            self._owned.close()
        elif self.handle is not None:
            self.handle.flush()
            self.handle.detach()  # the caller's file stays open
        self.handle = None
