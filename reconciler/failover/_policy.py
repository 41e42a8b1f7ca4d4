"""Which account should be active, given the limits we know: a pure decision."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from reconciler.desired import DesiredState
from reconciler.failover._capacity import DEFAULT_BAR, Room, by_headroom
from reconciler.statedir import LimitRecord

Limit = LimitRecord
"""An account's usage limit (the state dir's record of it)."""


class Move(enum.StrEnum):
    STAY = "stay"
    SWAP = "swap"
    WAIT = "wait"
    """Every allowed account is limited (or cannot take Claudes): nothing moves."""


class Reason(enum.StrEnum):
    NONE = ""
    LIMIT = "limit"
    """Leaving an account that hit its limit: its Claudes move at once."""
    PREEMPT = "preempt"
    """Leaving an account near its limit (``preempt_at``): its Claudes move between turns."""
    RETURN = "return"
    """Back to a preferred account after its reset: between turns."""
    ALL_LIMITED = "all_limited"


@dataclass(frozen=True)
class Decision:
    action: Move
    to: str | None
    reason: Reason
    message: str


def _why(target: str, rooms: Mapping[str, Room] | None, skipped: Mapping[str, str]) -> str:
    """The numbers a headroom choice used, for its message."""
    if rooms is None:
        return ""
    room = rooms.get(target, Room(target))
    said = [room.words()] if room.known else []
    said += [f"{name} skipped: {why}" for name, why in skipped.items()]
    return f" ({'; '.join(said)})" if said else ""


def available(account: str, limits: Mapping[str, Limit], now: datetime, grace: timedelta) -> bool:
    limit = limits.get(account)
    return limit is None or limit.resets_at + grace <= now


def decide(
    desired: DesiredState,
    limits: Mapping[str, Limit],
    now: datetime,
    last_auto_swap: datetime | None,
    *,
    moved_by_limit: bool = False,
    unfit: Mapping[str, str] | None = None,
    rooms: Mapping[str, Room] | None = None,
) -> Decision:
    """Stay, swap (leaving a limited account, or returning to a preferred one) or wait.

    A preferred account is returned to once it is free again: after its known limit
    has reset, or, when failover moved away from it (``moved_by_limit``), as soon as no
    limit is known for it (``reconcile limits clear``). An account in ``unfit`` (its
    home missing, logged out, not through Claude's first run) is never moved to: the
    next one in the order is, so nothing is stopped for a move that would strand it.
    With ``rooms`` (what each account has left) and ``choose: headroom``, the target is
    the usable account with the most headroom, never one at or over the bar
    (``preempt_at``, else 95 %) in the five-hour or weekly window; ties by the order.
    """
    active = desired.active_account
    config = desired.failover
    if not config.enabled:
        return Decision(Move.STAY, None, Reason.NONE, "failover is disabled")
    unfit = unfit or {}
    order = [a for a in config.order if any(x.name == a for x in desired.accounts)]
    cooling = last_auto_swap is not None and now - last_auto_swap < config.cooldown
    free = [a for a in order if available(a, limits, now, config.grace) and a not in unfit]
    if not available(active, limits, now, config.grace):
        skipped: dict[str, str] = {}
        if config.choose == "headroom" and rooms is not None:
            bar = config.preempt_at if config.preempt_at is not None else DEFAULT_BAR
            free, skipped = by_headroom([a for a in free if a != active], rooms, bar)
        if not free and skipped:
            return Decision(Move.WAIT, None, Reason.ALL_LIMITED,
                            "every other account is limited or nearly used up ("
                            + "; ".join(f"{n}: {why}" for n, why in skipped.items()) + ")")
        if not free:
            earliest = min((limits[a] for a in (*order, active) if a in limits),
                           key=lambda x: x.resets_at)
            cannot = [f"{a} cannot take Claudes" for a in order if a in unfit and a != active]
            return Decision(Move.WAIT, None, Reason.ALL_LIMITED,
                            f"every account is limited{' or ' if cannot else ''}"
                            f"{'; '.join(cannot)}; {earliest.account} resets first at "
                            f"{earliest.resets_at.isoformat()}")
        if cooling:
            assert last_auto_swap is not None  # noqa: S101  (cooling says so)
            return Decision(Move.STAY, None, Reason.NONE,
                            f"{active} is limited; cooling down before a swap until "
                            f"{(last_auto_swap + config.cooldown).isoformat(timespec='seconds')}")
        limit = limits[active]
        why = _why(free[0], rooms, skipped) if config.choose == "headroom" else ""
        if limit.preempted:
            return Decision(Move.SWAP, free[0], Reason.PREEMPT,
                            f"{active} is near its limit ({limit.reason}); moving to "
                            f"{free[0]}{why} between turns")
        return Decision(Move.SWAP, free[0], Reason.LIMIT,
                        f"{active} hit its limit ({limit.reason}); moving to {free[0]}{why}")
    if active in order:
        better = [a for a in order[: order.index(active)]
                  if a in free and (a in limits or moved_by_limit)]
        if better and cooling:
            assert last_auto_swap is not None  # noqa: S101  (cooling says so)
            return Decision(Move.STAY, None, Reason.NONE,
                            f"returning to {better[0]} once the cooldown ends at "
                            f"{(last_auto_swap + config.cooldown).isoformat(timespec='seconds')}")
        if better:
            known = limits.get(better[0])
            why = (f"{better[0]} reset at {known.resets_at.isoformat()}" if known is not None
                   else f"{better[0]} has no known limit any more")
            return Decision(Move.SWAP, better[0], Reason.RETURN,
                            f"{why}; returning from {active} between turns")
    return Decision(Move.STAY, None, Reason.NONE, f"{active} is usable")
