"""Importing a city's enterprise register from CSV/XLSX files (and JSON lines from the API).

readers   → rows of text from a file, whatever its encoding or format
columns   → which column is which (Chinese or English headers)
rows      → one row validated into a record, or refused with reasons in Chinese
merge     → records staged with COPY and merged set-based into the register
"""
