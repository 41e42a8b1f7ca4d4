"""When a Claude that must move moves, and which turn its relaunch continues. Pure.

A Claude whose own account is limited moves at once: its turn is cut already. Any other
move (the return after a reset, ``preempt_at``, a hand swap, drift) waits for the
Claude's turn to end, by Claude's own word (``sessions/<pid>.json``), at most
``failover.move_wait`` counted from a recorded start (``AwaitTurn``); ``swap --now`` and
the bound cut the turn, and the relaunch continues it (``failover.continue``). A turn
is continued once: a Claude that left again is not sent the message again.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import timedelta

from reconciler.desired import DesiredState
from reconciler.observe import Observed, PaneFact
from reconciler.plan._actions import AwaitTurn, Kind, Waiting


class Why(enum.StrEnum):
    LIMIT = "limit"
    """Its own account is limited: its turn is cut already."""
    CUT = "cut"
    """``swap --now``, or its wait reached ``move_wait``: this stop cuts its turn."""
    TURN = "turn"
    """Between turns: nothing is cut."""


@dataclass(frozen=True)
class MoveTime:
    why: Why | None
    """None: it waits for its turn to end."""
    record: AwaitTurn | None = None
    """A wait that starts now: the bookkeeping that bounds it across cycles."""
    waiting: Waiting | None = None


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    return f"{seconds // 60}m" if seconds >= 60 and not seconds % 60 else f"{seconds}s"


def limited(desired: DesiredState, observed: Observed, account: str | None) -> bool:
    """The account has hit a usage limit that has not reset (``preempt_at`` is not one)."""
    limit = observed.limits.get(account) if account is not None else None
    return limit is not None and not limit.preempted and (
        limit.resets_at + desired.failover.grace > observed.now)


def when_to_move(desired: DesiredState, observed: Observed, pane: PaneFact) -> MoveTime:
    claude = pane.claude
    assert claude is not None  # noqa: S101  (only Claudes move)
    record = observed.records.get(pane.target)
    if record is not None and record.pending_relaunch and record.pid == claude.pid:
        return MoveTime(Why(record.why) if record.why in tuple(Why) else Why.LIMIT)
    if limited(desired, observed, claude.account):
        return MoveTime(Why.LIMIT)
    active = observed.active
    if active is not None and active.now and active.account == desired.active_account:
        return MoveTime(Why.CUT)
    if claude.idle:
        return MoveTime(Why.TURN)
    wait = observed.waits.get(pane.target)
    since = (wait.since_time if wait is not None and (wait.pid, wait.start) == (
        claude.pid, claude.start) else None)
    bound = desired.failover.move_wait
    starts = None
    if since is None:
        if not bound:
            return MoveTime(Why.CUT)
        since = observed.now
        starts = AwaitTurn(
            key=f"await:{pane.target}", kind=Kind.CHANGE, target=pane.target, pid=claude.pid,
            start=claude.start, since=since.isoformat(),
            description=f"{pane.target}: claude pid {claude.pid} is "
                        f"{claude.status or 'not saying whether it is busy'}; its move waits "
                        f"for its turn to end (at most {_span(bound)})")
    if observed.now >= since + bound:
        return MoveTime(Why.CUT, starts)
    return MoveTime(None, starts, Waiting(
        target=pane.target, pid=claude.pid, account=claude.account or "unknown",
        to=desired.active_account, status=claude.status or "unknown", since=since,
        until=since + bound))


def cut_turn(desired: DesiredState, observed: Observed, pane: PaneFact, why: Why) -> str:
    """The turn the relaunch continues: the one the limit ended (its transcript says so),
    or the one this stop cuts; never one already continued; empty when the Claude had
    finished its turn or ``continue`` is off."""
    claude = pane.claude
    assert claude is not None  # noqa: S101  (only Claudes move)
    record = observed.records.get(pane.target)
    if record is not None and record.pending_relaunch and record.pid == claude.pid:
        return record.cut
    if desired.failover.continue_message is None:
        return ""
    cut = claude.cut_turn or ""
    if not cut and why in (Why.LIMIT, Why.CUT) and not claude.idle:
        cut = f"busy:{claude.pid}"
    if record is not None and cut and record.continued == cut:
        return ""  # continued once already: a Claude that left again is not sent it again
    return cut
