"""Run benchmarks, each in its own process and scratch database: ``python -m bench [name …]``.

Each benchmark prints a table with the dataset size and the comparison it makes. Its own process
makes the peak-memory figure its own; the scratch database (``<name>_bench``) is created fresh,
migrated, and dropped at the end.
"""

import argparse
import os
import subprocess
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
BENCHMARKS = ["seed", "import", "matching", "push", "portal", "dashboard", "payout"]


def run_one(name: str) -> None:
    redis = None
    if name == "push":
        # Its own Redis: a running demo's worker on the same queues must never take the benchmark's tasks.
        from portal.dev.processes import PrivateRedis

        redis = PrivateRedis().start()
        os.environ["REDIS_URL"] = redis.url
    django.setup()
    from django.db import connection

    from bench import dashboard_bench, import_bench, matching_bench, payout_bench, portal_bench, push_bench, seed

    runners = {
        "seed": seed.run,
        "import": import_bench.run,
        "matching": matching_bench.run,
        "push": push_bench.run,
        "portal": portal_bench.run,
        "dashboard": dashboard_bench.run,
        "payout": payout_bench.run,
    }
    runner = runners[name]
    connection.settings_dict.setdefault("TEST", {})["NAME"] = f"{connection.settings_dict['NAME']}_bench"
    started = time.monotonic()
    old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"[{name}] scratch database {connection.settings_dict['NAME']} ready in {time.monotonic() - started:.1f} s")
    try:
        runner()
    finally:
        connection.creation.destroy_test_db(old_name, verbosity=0)
        if redis:
            redis.stop()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    args = parser.parse_args()
    unknown = set(args.names) - set(BENCHMARKS)
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}; choose from {', '.join(BENCHMARKS)}")
    names = args.names or BENCHMARKS
    if len(names) == 1:
        run_one(names[0])
        return 0
    failed = [n for n in names if subprocess.run([sys.executable, "-m", "bench", n], check=False).returncode]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
