"""The link in a firm's SMS, from birth to the last count: its token, its address, how long it works, the
lookup behind each opening, the openings counted, and revoking it.

A per-firm link is ``PORTAL_BASE_URL + LINK_PATH + token``; the fixed one (strict channels) is one address
for every firm, who then signs in with its USCC and an SMS code. A link works until it is revoked or its
campaign's links expire (LINK_DAYS after planning). After a push a million firms open their links within
hours, so the lookup is one prepared query and openings are counted in the process, then in Redis, and
moved to the messages in one statement by a beat task.
"""

from __future__ import annotations

import atexit
import datetime
import secrets
import threading
import time
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.utils import timezone
from redis.exceptions import RedisError

from core import changes
from core import redis as shared_redis
from core.db import execute_prepared
from matching.facts import FACTS_ATTRIBUTES, FACTS_TAGS, facts_from_row
from matching.rules import Facts
from notifications.models import Campaign, Message
from policies.models import Policy

# --- The token and the address ------------------------------------------------------------------------

LINK_PATH = "/b/"  # + the firm's token: its own package page
FIXED_LINK_PATH = "/m"  # one URL for every firm; the firm signs in with its USCC and an SMS code
LINK_DAYS = 90
# A link token is 96 random bits as 16 URL-safe characters. A slice's tokens are cut from one string of
# random bytes drawn in Python (the secrets module): PostgreSQL's own strong random source, as
# gen_random_uuid() uses it, costs a system call per row, a tenth of what writing a message costs.
TOKEN_BYTES = 12
TOKEN_LENGTH = 16
_TOKEN_SQL = f"translate(encode(substr(%s::bytea, b.n * {TOKEN_BYTES} + 1, {TOKEN_BYTES}), 'base64'), '+/', '-_')"


def tokens_sql(*, count: int) -> tuple[str, list]:
    """SQL for the token of bundle ``b`` (numbered ``b.n`` from 0) among ``count`` bundles, and its parameter:
    ``count`` tokens' worth of random bytes."""
    return _TOKEN_SQL, [secrets.token_bytes(TOKEN_BYTES * count)]


def message_link(*, campaign: Campaign, token: str | None) -> str:
    """The link in a firm's SMS: its own package page, or the one fixed address (sign in with USCC + code)."""
    return link_maker(campaign)(token)


def link_maker(campaign: Campaign) -> Callable[[str | None], str]:
    """``message_link`` for the messages of one campaign, the settings read once (sending makes thousands)."""
    fixed = settings.PORTAL_BASE_URL + FIXED_LINK_PATH
    if campaign.link_mode == Campaign.LinkMode.FIXED:
        return lambda token: fixed
    base = settings.PORTAL_BASE_URL + LINK_PATH
    return lambda token: base + token if token else fixed


def token_masked(token: str | None) -> str:
    """A token as staff may see it: enough to tell links apart, never enough to open one and act as the firm."""
    return f"{token[:4]}…" if token else ""


def link_sql(campaign: Campaign) -> tuple[str, list]:
    """``message_link`` as SQL over the message's token ``t.token``, and its parameters."""
    if campaign.link_mode == Campaign.LinkMode.FIXED:
        return "%s", [message_link(campaign=campaign, token=None)]
    return "%s || t.token", [settings.PORTAL_BASE_URL + LINK_PATH]


def link_length(campaign: Campaign) -> int:
    """Characters of the link in each of the campaign's messages: every token has the same length."""
    return len(message_link(campaign=campaign, token="x" * TOKEN_LENGTH))


def links_expire_at(*, now: datetime.datetime | None = None) -> datetime.datetime:
    """When the links of a campaign planned ``now`` stop working."""
    return (now or timezone.now()) + datetime.timedelta(days=LINK_DAYS)


def link_usable(*, revoked: bool, expires_at: datetime.datetime | None, now: datetime.datetime | None = None) -> bool:
    """A firm's link works until it is revoked or the campaign's links expire."""
    return not revoked and (expires_at is None or (now or timezone.now()) < expires_at)


# --- The lookup behind an opening ------------------------------------------------------------------------


@dataclass(frozen=True)
class LinkVisit:
    """What the page behind one SMS link needs, read in one query: the message, its firm, the firm's facts."""

    message_id: int
    enterprise_id: int
    policy_ids: list[int]
    revoked: bool
    expires_at: datetime.datetime | None
    name: str
    short_name: str
    sms_opt_out: bool
    has_feedback: bool  # the firm has said something about one of these policies (the caller's feedback_sql)
    facts: Facts

    def usable(self, now: datetime.datetime | None = None) -> bool:
        return link_usable(revoked=self.revoked, expires_at=self.expires_at, now=now)


@cache
def _visit_sql(feedback_sql: str) -> tuple[str, str]:
    """The lookup with the caller's feedback expression, and a name to prepare it under."""
    sql = f"""
SELECT m.id, m.enterprise_id, m.policy_ids, m.revoked_at IS NOT NULL, c.links_expire_at,
       e.name, e.short_name, e.sms_opt_out,
       {feedback_sql},
       {FACTS_ATTRIBUTES},
       -- the tags are read only when one of the policies asks about tags
       CASE WHEN EXISTS (SELECT 1 FROM {Policy._meta.db_table} p WHERE p.id = ANY(m.policy_ids)
                         AND jsonb_path_exists(p.audience_rule, 'lax $.**.tag'))
            THEN {FACTS_TAGS} ELSE '{{}}' END
FROM {Message._meta.db_table} m
JOIN {Campaign._meta.db_table} c ON c.id = m.campaign_id
JOIN enterprises_enterprise e ON e.id = m.enterprise_id
LEFT JOIN core_region r ON r.id = e.region_id
WHERE m.token = %s
"""
    return sql, f"link_visit_{zlib.crc32(feedback_sql.encode()):08x}"


def link_visit(*, token: str, feedback_sql: str = "false", on: datetime.date | None = None) -> LinkVisit | None:
    """The message behind a link with its firm and the firm's facts (certificates valid ``on``; tags only
    when one of its policies asks about them); None for an unknown token. One prepared query: after a push
    this runs for every opening.

    ``feedback_sql``: a boolean over the message ``m`` (``m.enterprise_id``, ``m.policy_ids``) saying whether
    the firm has said anything about these policies; the portal, which keeps what firms say, passes it, so
    the page learns it in the same round trip.
    """
    sql, name = _visit_sql(feedback_sql)
    with connection.cursor() as cursor:
        execute_prepared(cursor, name, sql, [on or timezone.localdate(), token])
        row = cursor.fetchone()
    if row is None:
        return None
    return LinkVisit(*row[:9], facts=facts_from_row(row[1], row[9:]))


# --- Openings ----------------------------------------------------------------------------------------------


def _opens_keys() -> tuple[str, str]:
    return shared_redis.key("link", "opens"), shared_redis.key("link", "first-open")


SYNC_SECONDS = 1.0  # how long openings wait in a process before going to Redis
# Openings this process has counted and not yet handed to Redis, and the generation it last read there.
_buffer = {"counts": Counter(), "firsts": {}, "generation": None, "synced": 0.0}
_buffer_lock = threading.Lock()


def link_opened(*, message_id: int) -> int | None:
    """Count an opening of a firm's link; returns the policies' generation, for the page to use.

    A burst after a push writes nothing to PostgreSQL: openings gather in this process and go to Redis at
    most once a second, in one round trip that also reads the generation (so a policy change reaches link
    pages within a second); ``link_opens_flush`` moves them to the messages. Without Redis they are
    counted in PostgreSQL directly and None is returned.
    """
    now = time.time()
    with _buffer_lock:
        _buffer["counts"][message_id] += 1
        _buffer["firsts"].setdefault(message_id, int(now))
        if _buffer["generation"] is not None and now - _buffer["synced"] < SYNC_SECONDS:
            return _buffer["generation"]
    return _hand_over_opens()


def _hand_over_opens() -> int | None:
    """Hand this process's openings to Redis and read the policies' generation, in one round trip."""
    with _buffer_lock:
        counts, firsts = _buffer["counts"], _buffer["firsts"]
        _buffer.update(counts=Counter(), firsts={}, synced=time.time())
    counts_key, firsts_key = _opens_keys()
    try:
        pipe = shared_redis.client().pipeline(transaction=False)
        for message_id, n in counts.items():
            pipe.hincrby(counts_key, message_id, n)
        for message_id, first in firsts.items():
            pipe.hsetnx(firsts_key, message_id, first)
        generation = int(pipe.get(changes.generation_key(changes.POLICIES)).execute()[-1] or 0)
    except RedisError:
        if counts:
            ids = list(counts)
            _add_opens(ids, [counts[i] for i in ids], [firsts[i] for i in ids])
        generation = None
    with _buffer_lock:
        _buffer["generation"] = generation
    return generation


def reset_local_opens() -> None:
    """Drop openings not yet handed to Redis (tests, which start each from a clean slate)."""
    with _buffer_lock:
        _buffer.update(counts=Counter(), firsts={}, generation=None, synced=0.0)


@atexit.register
def _hand_over_on_exit() -> None:
    """A worker that stops hands over what it counted."""
    if _buffer["counts"]:
        _hand_over_opens()


def link_opens_flush() -> int:
    """Move buffered link openings to their messages, set-based; returns how many messages were updated."""
    _hand_over_opens()  # this process's own first
    counts, firsts = _opens_keys()
    client = shared_redis.client()
    taking = f"{counts}:flushing:{secrets.token_hex(4)}"
    try:
        client.rename(counts, taking)  # from here on, new openings start a new hash
    except RedisError:
        return 0  # nothing buffered
    opened = {int(k): int(v) for k, v in client.hgetall(taking).items()}
    first = client.hmget(firsts, list(opened))
    ids = list(opened)
    _add_opens(ids, [opened[i] for i in ids], [int(f or time.time()) for f in first])
    client.delete(taking)
    if ids:
        client.hdel(firsts, *ids)
    return len(ids)


def _add_opens(ids: list[int], counts: list[int], firsts: list[int]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {Message._meta.db_table} m SET open_count = m.open_count + o.n,
                  first_opened_at = COALESCE(m.first_opened_at, to_timestamp(o.first))
                FROM unnest(%s::bigint[], %s::int[], %s::bigint[]) AS o(id, n, first) WHERE m.id = o.id""",
            [ids, counts, firsts],
        )


# --- Revoking --------------------------------------------------------------------------------------------


def link_revoke(*, message: Message, user) -> None:
    """Stop a firm's link at once (say, an SMS sent to a number the firm no longer owns)."""
    if not user.has_perm("notifications.launch_campaign"):
        raise PermissionDenied("您没有撤销政策包链接的权限。")
    Message.objects.filter(pk=message.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
