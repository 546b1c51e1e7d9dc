"""Child process of the payout benchmark: one finance export, with its own peak memory.

``python -m bench.payout_export <round id> <xlsx|csv> <path>``; the database is the one in DATABASE_URL.
Prints ``seconds rows peak_rss_mb rss_at_start_mb`` on one line.
"""

import os
import resource
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")


def _high_water_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from the parent)."""
    for line in open("/proc/self/status", encoding="ascii"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    django.setup()
    from portal.payouts import finance
    from portal.payouts.models import PayoutRound

    round_id, fmt, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    round_ = PayoutRound.objects.select_related("policy").get(pk=round_id)
    finance.decrypt("")  # load the key and the library before measuring
    start_mb = _high_water_mb()
    started = time.perf_counter()
    if fmt == "xlsx":
        totals = finance.write_xlsx(round_=round_, target=path)
        rows = totals.count
    else:
        rows = 0
        with open(path, "w", encoding="utf-8") as out:
            for line in finance.csv_lines(round_=round_):
                out.write(line)
                rows += 1
        rows -= 3  # header, 合计, 校验
    seconds = time.perf_counter() - started
    peak_mb = _high_water_mb()
    print(f"{seconds:.2f} {rows} {peak_mb:.0f} {start_mb:.0f}")


if __name__ == "__main__":
    main()
