"""Seeded generators of demo data: ``enterprises`` (the register, with portrait tags, loaded with COPY) and
``policies`` (four levels, with labels and guides). Used by ``manage.py seed_demo``, the tests and the benchmarks."""
