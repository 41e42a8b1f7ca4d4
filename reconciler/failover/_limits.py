"""Known usage limits, and what the policy would do next.

Kept apart from the watcher so ``plan`` and ``status`` can show them without
loading the observer's captures.
"""

from __future__ import annotations

from datetime import datetime

from reconciler.desired import DesiredState
from reconciler.failover._policy import Decision, Limit, decide
from reconciler.statedir import StateDir


def last_auto_swap(state: StateDir) -> datetime | None:
    active = state.read_active()
    return active.automatic_at if active is not None else None


def moved_by_limit(state: StateDir) -> bool:
    """The active account was chosen by failover leaving a limited (or nearly limited) one."""
    active = state.read_active()
    return active is not None and active.reason in ("limit", "preempt")


def preview(desired: DesiredState, state: StateDir, now: datetime,
            limits: dict[str, Limit] | None = None) -> tuple[dict[str, Limit], Decision]:
    """Known limits and what the next cycle would decide, for plan and status views;
    ``limits`` in place of the state dir's weighs limits not written yet (an import's
    dry run, which is how a fleet asks one host for the fleet's decision)."""
    limits = state.read_limits() if limits is None else limits
    return limits, decide(desired, limits, now, last_auto_swap(state),
                          moved_by_limit=moved_by_limit(state))
