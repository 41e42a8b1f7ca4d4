"""Failover: detect usage limits, move to the next account, return after the reset."""

from reconciler.failover._capacity import Room, Window, headroom_table, usage, usage_view
from reconciler.failover._detect import LimitMatch, detect, normalise
from reconciler.failover._limits import last_auto_swap, preview
from reconciler.failover._policy import Decision, Limit, Move, Reason, available, decide
from reconciler.failover._reset import MOST_AHEAD, parse_reset

TYPE_CHECKING = False
if TYPE_CHECKING:
    from reconciler.failover._wing import (
        Failover,
        Verdict,
        claude_panes,
        stuck_panes,
    )


def __getattr__(name: str) -> object:
    """``Failover`` needs the observer; load it only when asked so ``limit-check`` stays light."""
    if name in {"Failover", "Verdict", "stuck_panes", "claude_panes"}:
        from reconciler.failover import _wing  # noqa: PLC0415

        return getattr(_wing, name)
    raise AttributeError(name)


__all__ = [
    "MOST_AHEAD",
    "Decision",
    "Failover",
    "Limit",
    "LimitMatch",
    "Move",
    "Reason",
    "Room",
    "Verdict",
    "Window",
    "available",
    "claude_panes",
    "decide",
    "detect",
    "headroom_table",
    "last_auto_swap",
    "normalise",
    "parse_reset",
    "preview",
    "stuck_panes",
    "usage",
    "usage_view",
]
