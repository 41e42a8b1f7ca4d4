"""Known usage limits in the state dir, and what the policy would do next.

Kept apart from the watcher so ``plan`` and ``status`` can show them without
loading the alert sinks.
"""

from __future__ import annotations

from datetime import datetime

from reconciler.desired import DesiredState
from reconciler.failover._policy import Decision, Limit, decide, failover_config
from reconciler.statedir import StateDir, read_json


def load_limits(state: StateDir) -> dict[str, Limit]:
    raw = read_json(state.root / "limits.json")
    limits: dict[str, Limit] = {}
    if isinstance(raw, dict):
        for name, item in raw.items():
            try:
                limits[name] = Limit.from_json(item)
            except (KeyError, TypeError, ValueError):
                continue
    return limits


def last_auto_swap(state: StateDir) -> datetime | None:
    for item in reversed(state.read_swaps(50)):
        if item.get("reason") in {"limit", "return"}:
            try:
                return datetime.fromisoformat(str(item["time"]))
            except (KeyError, ValueError):
                return None
    return None


def preview(desired: DesiredState, state: StateDir, now: datetime) -> tuple[dict[str, Limit],
                                                                            Decision]:
    """Known limits and what the next cycle would decide, for plan and status views."""
    limits = load_limits(state)
    return limits, decide(desired, failover_config(desired), limits, now, last_auto_swap(state))
