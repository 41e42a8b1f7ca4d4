"""What ends the service's sleep besides an edit, a signal from Claude or a cleared limit:
a waiting Claude's turn ending (its session file changes), the first wait's bound, the
first limit's reset; and how long a pane may hold a launch back in a tmux mode before a
person is told."""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from reconciler.desired import DesiredState
from reconciler.observe import Observed
from reconciler.plan import Plan
from reconciler.statedir import FileIdentity, LimitRecord, file_identity, read_regular

MODE_WAIT = (3.0, 60.0)
"""How long a pane may sit in copy mode, holding its Claude's launch back, before a person
is told: three service intervals, within these bounds (a scroll to read something is not
a problem; a forgotten one is)."""


class Wakes:
    """Kept between cycles by the service: set by ``after``, read by its sleep."""

    def __init__(self) -> None:
        self.turns: dict[Path, FileIdentity | None] = {}
        """The session files of Claudes whose move waits for their turn, as last seen: a
        change (busy -> idle) wakes the loop, so each moves as its turn ends."""
        self.next_bound: float | None = None
        """When the first of those waits reaches its bound (monotonic clock)."""
        self.next_reset: float | None = None
        """When the first known limit resets, grace included (monotonic clock): the loop
        wakes then, so the return comes at the reset, not up to an interval later."""
        self.modes: dict[str, float] = {}
        """Panes in a tmux mode that hold a launch back, since when (monotonic clock)."""

    def after(self, the_plan: Plan, desired: DesiredState,
              limits: Iterable[LimitRecord]) -> tuple[Path, ...]:
        """Take the cycle's waits and limits; the files the watcher must watch now."""
        homes = {a.name: a.home for a in desired.accounts}
        paths = [homes[w.account] / "sessions" / f"{w.pid}.json"
                 for w in the_plan.waiting if w.account in homes]
        self.turns = {path: file_identity(path) for path in paths}
        self.next_bound = (_monotonic(min(w.until for w in the_plan.waiting))
                           if the_plan.waiting else None)
        if any(not _mid_turn(path) for path in paths):  # ended since the cycle observed it
            self.next_bound = time.monotonic()
        self.next_reset = _first_reset(limits, desired)
        return tuple(paths)

    def deadline(self, default: float) -> float:
        """The sleep's end: one wake per bound and reset (the next cycle sets them again)."""
        due = [d for d in (self.next_bound, self.next_reset) if d is not None]
        self.next_bound = self.next_reset = None
        return min([default, *due])

    def turn_ended(self) -> bool:
        return any(file_identity(path) != seen for path, seen in self.turns.items())

    def in_a_mode(self, the_plan: Plan, observed: Observed,
                  interval: float) -> dict[str, str]:
        """Panes whose Claude is not started again because they sit in a tmux mode (copy
        mode after a scroll): never typed into, but after a bounded wait (``MODE_WAIT``) a
        person is told which pane and which key leaves the mode."""
        bound = min(MODE_WAIT[1], max(MODE_WAIT[0], 3 * interval))
        waiting = {c.key.removeprefix("launch:") for c in the_plan.conflicts
                   if c.key.startswith("launch:")}
        now = time.monotonic()
        found: dict[str, str] = {}
        for pane in observed.tmux.panes:
            if pane.target not in waiting or not pane.input.mode:
                continue
            since = self.modes.setdefault(pane.target, now)
            if now - since >= bound:
                found[pane.target] = (
                    f"{pane.target} has been in a tmux mode (copy mode) for {int(now - since)}s: "
                    f"its Claude is not started again until it leaves it; press q in that pane "
                    f"(tmux attach -t '{pane.session_name}')")
        self.modes = {t: s for t, s in self.modes.items()
                      if t in waiting and any(p.target == t and p.input.mode
                                              for p in observed.tmux.panes)}
        return found


def _mid_turn(session_file: Path) -> bool:
    """The Claude still says it is busy or waiting (its file read now, bounded)."""
    try:
        status = json.loads(read_regular(session_file, 1 << 16)).get("status")
    except (OSError, ValueError, AttributeError, RecursionError):
        return False
    return status in ("busy", "waiting")


def _monotonic(when: datetime) -> float:
    left = (when - datetime.now(when.tzinfo or UTC)).total_seconds()
    return time.monotonic() + max(0.0, left) + 0.05


def _first_reset(limits: Iterable[LimitRecord], desired: DesiredState) -> float | None:
    """The monotonic time the first limit resets (and its grace has passed)."""
    ends = [lim.resets_at + desired.failover.grace for lim in limits]
    return _monotonic(min(ends)) if ends else None
