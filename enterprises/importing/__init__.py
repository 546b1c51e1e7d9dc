"""Importing a city's enterprise register from CSV/XLSX files (and JSON lines from the API).

readers   → rows of text from a file, whatever its encoding or format
columns   → which column is which (Chinese or English headers)
rows      → one row validated into a record, or refused with reasons in Chinese
merge     → records staged with COPY and merged set-based into the register
producer  → parsing and validation in a thread, handing chunks to the merge
report    → the refused cells as a CSV a clerk can open
pipeline  → one import: the above in one transaction, with its result (``enterprise_import``)
jobs      → an upload (admin) or a batch (API) imported by a Celery worker, with live progress
qualifications → certificate lists (高新技术企业名单 …) added to firms already in the register
"""
