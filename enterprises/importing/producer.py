"""Parsing and validating a file in a background thread, chunk by chunk, while the database merges."""

from __future__ import annotations

import io
import queue
import threading
from dataclasses import dataclass

from enterprises.importing.merge import stage_line
from enterprises.importing.readers import NotATable, Table
from enterprises.importing.rows import RowError, RowValidator


@dataclass
class Chunk:
    lines: io.BytesIO
    errors: list[RowError]
    refused: int
    rows_read: int
    fraction: float


class ChunkProducer:
    """Parses and validates the file in a background thread, handing over chunks of COPY lines.

    The thread never touches the database, and the queue holds at most two chunks, so memory stays
    bounded whatever the file size. An error in the thread (such as ``NotATable`` for a file that
    stops being decodable half-way) is raised in the caller.
    """

    CHUNK_ROWS = 100_000
    _DONE = object()

    def __init__(self, table: Table, validator: RowValidator, *, max_rows: int):
        self.table, self.validator, self.max_rows = table, validator, max_rows
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, name="import-parser", daemon=True)
        self.thread.start()

    def _put(self, item) -> bool:
        while not self.stopping.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        width = len(self.table.headers)
        lines, errors, refused, staged, rows = io.BytesIO(), [], 0, 0, 0
        try:
            for row_no, cells in self.table.rows:
                rows += 1
                if rows > self.max_rows:
                    raise NotATable(f"文件超过 {self.max_rows:,} 行的上限，请拆分成几个文件分别导入。")
                if cells.__class__ is RowError:  # a line the reader could not take as a row
                    record, row_errors = None, [cells]
                else:
                    record, row_errors = self.validator.validate(row_no, cells, width)
                if row_errors:
                    refused += 1
                    errors.extend(row_errors)
                else:
                    lines.write(stage_line(row_no, record))
                    staged += 1
                if staged + refused >= self.CHUNK_ROWS:
                    if not self._put(Chunk(lines, errors, refused, rows, self.table.progress())):
                        return
                    lines, errors, refused, staged = io.BytesIO(), [], 0, 0
            if self._put(Chunk(lines, errors, refused, rows, 1.0)):
                self._put(self._DONE)
        except Exception as exc:  # noqa: BLE001 - handed to the caller, which raises it
            self._put(exc)

    def __iter__(self):
        while True:
            item = self.queue.get()
            if item is self._DONE:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
