"""SMS to the firms of a round (意愿确认 and its one reminder), through the push pipeline."""

from __future__ import annotations

from portal.payouts.models import PayoutRound


def round_notice_queue(*, round_: PayoutRound, reminder: bool) -> None:
    """Ask the round's firms to confirm (or remind those who have not answered)."""
