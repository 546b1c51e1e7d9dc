"""Printing benchmark results as aligned text tables, and a CPU reference to read them against."""

import time


def print_table(rows: list[tuple]) -> None:
    """Print rows as an aligned text table; the first row is the header."""
    widths = [max(len(str(r[i])) for r in rows) for i in range(len(rows[0]))]
    for n, row in enumerate(rows):
        cells = [
            str(c).ljust(w) if i == 0 else str(c).rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))
        ]
        print("  ".join(cells))
        if n == 0:
            print("  ".join("-" * w for w in widths))


def cpu_reference_ms() -> float:
    """Milliseconds of CPU for a fixed pure-Python loop (summing ten million integers), best of five.

    Machines of one kind differ in speed from day to day (twofold has been seen here); printed beside a
    result, it tells a slower machine from a slower program.
    """
    best = float("inf")
    for _ in range(5):
        started = time.process_time()
        sum(range(10_000_000))
        best = min(best, time.process_time() - started)
    return round(best * 1000, 1)
