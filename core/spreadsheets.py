"""Cells written into files people open in Excel or WPS (CSV or XLSX).

A cell that starts with ``=``, ``+``, ``-`` or ``@`` is a formula to a spreadsheet, and a leading tab or
carriage return can hide one: ``=HYPERLINK(…)`` phones home, ``=cmd|' /C calc'!A0`` starts a program.
Values that came from outside (an import file, a firm's message) are written through ``excel_safe``,
which makes them text by prefixing ``'``, as OWASP recommends for CSV injection.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def excel_safe(value):
    """``value`` as a spreadsheet shows it literally; anything but text passes through unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def excel_safe_row(values) -> list:
    return [excel_safe(value) for value in values]
