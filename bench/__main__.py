"""Run benchmarks in a scratch database: ``python -m bench [name …]`` (default: all).

Each benchmark prints a table with the dataset size and the comparison it makes. The scratch
database (``<name>_bench``) is created fresh, migrated, and dropped at the end.
"""

import argparse
import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def main() -> int:
    django.setup()
    from django.db import connection

    from bench import seed

    benchmarks = {"seed": seed.run}
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", choices=[[], *benchmarks], default=[])
    args = parser.parse_args()
    names = args.names or list(benchmarks)

    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{connection.settings_dict['NAME']}_bench"
    started = time.monotonic()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"scratch database {connection.settings_dict['NAME']} ready in {time.monotonic() - started:.1f} s")
    try:
        for name in names:
            benchmarks[name]()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
