"""What the fake platform received, and the faults it injects."""

from __future__ import annotations

import json
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(kw_only=True)  # by name: a new field must not shift what the others mean
class Faults:
    error_rate: float = 0.0  # share of calls answered with HTTP 503 (nothing recorded), at random
    error_every: int = 0  # or exactly every n-th send call answered with HTTP 503
    timeout_rate: float = 0.0  # share of calls accepted, then answered too late for the client
    timeout_seconds: float = 15.0
    latency_ms: float = 0.0
    duplicate_receipts: bool = False  # post every receipt twice, as vendors sometimes do


@dataclass
class Credentials:
    aliyun_key_id: str
    aliyun_secret: str
    tencent_secret_id: str
    tencent_secret_key: str


class CallTexts:
    """The texts of one call's messages, rendered only when someone reads them (most never are: a push
    of a million messages is counted, not read, and decoding every call would dominate the platform)."""

    def __init__(self, render_all):
        self._render_all = render_all
        self._texts: list[str] | None = None
        self._lock = threading.Lock()

    def __getitem__(self, index: int) -> str:
        with self._lock:
            if self._texts is None:
                self._texts = self._render_all()
            return self._texts[index]


@dataclass(slots=True)
class Accepted:
    vendor: str
    mobile: str
    call_id: str
    gateway_id: str
    template: str
    at: float
    texts: CallTexts
    index: int

    @property
    def text(self) -> str:
        return self.texts[self.index]

    def as_dict(self) -> dict:
        return {"vendor": self.vendor, "mobile": self.mobile, "call_id": self.call_id, "gateway_id": self.gateway_id,
                "template": self.template, "at": self.at, "text": self.text}  # fmt: skip


@dataclass
class State:
    credentials: Credentials
    templates: callable  # template code -> body, or None when not registered
    receipt_urls: dict[str, str] = field(default_factory=dict)
    outbox: Path | None = None
    faults: Faults = field(default_factory=Faults)
    lock: threading.RLock = field(default_factory=threading.RLock)
    counts: Counter = field(default_factory=Counter)
    receipts: queue.Queue = field(default_factory=queue.Queue)
    # Accepted calls wait in _pending until someone reads by_mobile: a push of a million messages is
    # counted (with set operations, per call) and rarely read, and one object per message made as it
    # arrived cost the platform a fifth of its time.
    _pending: list = field(default_factory=list, init=False)
    _by_mobile: dict[str, list[Accepted]] = field(default_factory=dict, init=False)
    _seen: set[str] = field(default_factory=set, init=False)
    _twice: set[str] = field(default_factory=set, init=False)

    @property
    def by_mobile(self) -> dict[str, list[Accepted]]:
        """Every accepted message, by mobile number."""
        with self.lock:
            for make_items in self._pending:
                for item in make_items():
                    self._by_mobile.setdefault(item.mobile, []).append(item)
            self._pending.clear()
            return self._by_mobile

    def accept(self, vendor: str, mobiles: list[str], make_items) -> None:
        """One accepted call's messages: ``make_items()`` gives them as Accepted, when they are needed."""
        needed = bool(self.outbox or self.receipt_urls.get(vendor))
        items = make_items() if needed else None
        with self.lock:
            repeated = self._seen.intersection(mobiles)
            if len(set(mobiles)) < len(mobiles):  # a number twice in one call
                repeated.update(m for m, n in Counter(mobiles).items() if n > 1)
            self._seen.update(mobiles)
            self._twice.update(repeated)
            self.counts["mobiles_with_more_than_one"] = len(self._twice)  # polled during a city-wide push
            self.counts["accepted"] += len(mobiles)
            self.counts["last_accept_at"] = time.time()
            self._pending.append(make_items if items is None else lambda: items)
            if self.outbox:
                with open(self.outbox, "a", encoding="utf-8") as out:
                    for item in items:
                        out.write(json.dumps(item.as_dict(), ensure_ascii=False) + "\n")
        if self.receipt_urls.get(vendor):
            for item in items:
                self.receipts.put(item)

    def reset(self) -> None:
        with self.lock:
            self._pending.clear()
            self._by_mobile.clear()
            self._seen.clear()
            self._twice.clear()
            self.counts.clear()

    def stats(self) -> dict:
        """Counts so far, among them how many numbers received more than one message."""
        with self.lock:
            return {
                "accepted": 0,
                "rejected_signatures": 0,
                "injected_errors": 0,
                "injected_timeouts": 0,
                "mobiles_with_more_than_one": 0,
                **self.counts,
                "mobiles": len(self._seen),
            }
