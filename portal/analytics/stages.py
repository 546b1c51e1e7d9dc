"""The stages of the push funnel, and where the stages after "opened" come from.

qualified → sent → delivered → opened come from the push itself (the audience and each message's status
and times); every later stage is fed by sources: SQL that lists (firm, policy, time) for firms that reached
it. 感兴趣 and 已申报 come from the firms' reactions here; the 兑现 app registers its own stages (and more
sources of 已申报) with ``register_stage`` and ``register_source`` from its ``AppConfig.ready``:

    register_stage(Stage("paid", "已兑现"), after="applied")
    register_source(StageSource("paid", "SELECT enterprise_id, policy_id, paid_at AS at FROM …"))

Counting is "furthest stage reached": a firm that applied is counted as interested, opened, delivered and
sent too (an opening proves delivery even when the receipt never came), so each stage is a subset of the
one before. A firm's outcome counts for a push only when that push's message named the policy, was sent,
and the outcome came after the message was made.
"""

from __future__ import annotations

from dataclasses import dataclass

from portal.models import PolicyReaction


@dataclass(frozen=True)
class Stage:
    key: str
    label: str


@dataclass(frozen=True)
class StageSource:
    """``sql`` selects ``enterprise_id, policy_id, at`` (a timestamptz): firms that reached ``stage``."""

    stage: str
    sql: str


QUALIFIED, SENT, DELIVERED, OPENED = "qualified", "sent", "delivered", "opened"
INTERESTED, APPLIED = "interested", "applied"

MESSAGE_STAGES = [
    Stage(QUALIFIED, "符合条件"),
    Stage(SENT, "短信已发送"),
    Stage(DELIVERED, "已送达"),
    Stage(OPENED, "已打开链接"),
]
_outcome_stages = [Stage(INTERESTED, "感兴趣"), Stage(APPLIED, "已申报")]
_REACTIONS = PolicyReaction._meta.db_table
_sources = [
    StageSource(INTERESTED, f"SELECT enterprise_id, policy_id, updated_at AS at FROM {_REACTIONS} "
                            f"WHERE kind = '{PolicyReaction.Kind.INTERESTED}'"),
    StageSource(APPLIED, f"SELECT enterprise_id, policy_id, updated_at AS at FROM {_REACTIONS} "
                         f"WHERE kind = '{PolicyReaction.Kind.APPLIED}'"),
]  # fmt: skip


def register_stage(stage: Stage, *, after: str | None = None) -> None:
    """Add a stage after ``after`` (default: at the end); registering the same key again does nothing."""
    if any(s.key == stage.key for s in stages()):
        return
    keys = [s.key for s in _outcome_stages]
    position = len(keys) if after is None or after not in keys else keys.index(after) + 1
    _outcome_stages.insert(position, stage)


def register_source(source: StageSource) -> None:
    if source not in _sources:
        _sources.append(source)


def stages() -> list[Stage]:
    return [*MESSAGE_STAGES, *_outcome_stages]


def stage_keys() -> list[str]:
    return [s.key for s in stages()]


def stage_labels() -> dict[str, str]:
    return {s.key: s.label for s in stages()}


def outcome_sources() -> list[tuple[int, str]]:
    """(rank, sql) of every source of the stages after "opened"; rank is the stage's place in ``stages()``."""
    rank = {s.key: n for n, s in enumerate(stages())}
    return [(rank[source.stage], source.sql) for source in _sources if source.stage in rank]
