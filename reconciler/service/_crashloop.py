"""Crash-loop back-off: a Claude that dies soon after its launch is relaunched
later and later (like a container crash-loop), never in a hot loop."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from reconciler.observe import Observed
from reconciler.statedir import read_json, write_json

BASE_BACKOFF = 5.0


@dataclass(frozen=True)
class CrashState:
    count: int
    until: str
    """ISO time before which no launch is tried."""
    last_launch: str
    """Launch-record time already counted, so one crash is counted once."""


class CrashLoops:
    def __init__(self, path: Path | None, window: float, max_backoff: float) -> None:
        self.path = path
        self.window = window
        self.max_backoff = max_backoff
        raw = read_json(path) if path is not None else None
        self.states: dict[str, CrashState] = {}
        if isinstance(raw, dict):
            for target, item in raw.items():
                try:
                    self.states[target] = CrashState(**item)
                except TypeError:
                    continue

    def _save(self) -> None:
        if self.path is not None:
            write_json(self.path, {t: s.__dict__ for t, s in self.states.items()})

    def _crashed(self, target: str, launched: str, now: datetime) -> None:
        old = self.states.get(target)
        if old is not None and old.last_launch == launched:
            return
        count = (old.count if old else 0) + 1
        delay = min(BASE_BACKOFF * 2 ** (count - 1), self.max_backoff)
        self.states[target] = CrashState(count, (now + timedelta(seconds=delay)).isoformat(),
                                         launched)

    def observe(self, observed: Observed) -> None:
        """Count launches whose Claude is gone within the window; forgive survivors."""
        panes = {p.target: p for p in observed.tmux.panes}
        now = observed.now
        for target, record in observed.records.items():
            if record.pending_relaunch or not record.time:
                continue
            launched = datetime.fromisoformat(record.time)
            pane = panes.get(target)
            alive = pane is not None and pane.claude is not None
            young = (now - launched).total_seconds() < self.window
            if not alive and young and pane is not None:
                self._crashed(target, record.time, now)
            elif alive and not young and target in self.states:
                del self.states[target]
        self._save()

    def launch_failed(self, target: str, now: datetime) -> None:
        self._crashed(target, now.isoformat(), now)
        self._save()

    def held(self, now: datetime) -> dict[str, str]:
        """Targets in back-off now, with a one-line reason."""
        return {
            target: f"exited {s.count} time(s) soon after launch; next try after {s.until}"
            for target, s in self.states.items() if datetime.fromisoformat(s.until) > now
        }

    def looping(self) -> dict[str, str]:
        """Targets that crashed more than once in a row: alert-worthy."""
        return {t: f"claude in {t} keeps exiting right after launch ({s.count} times); "
                   f"backing off" for t, s in self.states.items() if s.count >= 2}

    def clear(self, target: str) -> None:
        if self.states.pop(target, None) is not None:
            self._save()

