"""Development-only tools, never part of the production image: the embedded PostgreSQL and Redis, the fake
SMS platform, the demo's data and its process supervisor, and the management commands that run them.

The settings install this app only when the package is present and development tools are on (``DEBUG`` or
``DEV_TOOLS``); nothing outside it, ``tests/`` and ``bench/`` imports it.
"""
