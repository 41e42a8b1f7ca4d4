"""Failover: detect usage limits, move to the account with the most left, return after the
reset.

The face loads what is asked, when it is asked (PEP 562): ``limit-check`` reads words and
needs the grammar alone, not the policy, the capacity table (the desired-state stack) or
the service's wing (the observer); a plan needs no grammar at all."""

import importlib

TYPE_CHECKING = False
if TYPE_CHECKING:
    from reconciler.failover._capacity import (
        Room,
        Window,
        headroom_table,
        usage,
        usage_view,
    )
    from reconciler.failover._detect import LimitMatch, detect, normalise
    from reconciler.failover._limits import last_auto_swap, preview
    from reconciler.failover._policy import Decision, Limit, Move, Reason, available, decide
    from reconciler.failover._reset import MOST_AHEAD, parse_reset
    from reconciler.failover._wing import (
        Failover,
        Verdict,
        claude_panes,
        stuck_panes,
    )

_LAZY = {
    "_detect": ("LimitMatch", "detect", "normalise"),
    "_reset": ("MOST_AHEAD", "parse_reset"),
    "_capacity": ("Room", "Window", "headroom_table", "usage", "usage_view"),
    "_limits": ("last_auto_swap", "preview"),
    "_policy": ("Decision", "Limit", "Move", "Reason", "available", "decide"),
    "_wing": ("Failover", "Verdict", "claude_panes", "stuck_panes"),
}
_WHERE = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> object:
    if name in _WHERE:
        return getattr(importlib.import_module(f"reconciler.failover.{_WHERE[name]}"), name)
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
