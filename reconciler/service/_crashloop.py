"""Crash-loop back-off: a Claude that dies soon after its launch is relaunched
later and later (like a container crash-loop), never in a hot loop."""

from __future__ import annotations

from datetime import datetime, timedelta

from reconciler.observe import Observed
from reconciler.statedir import CrashRecord, StateDir

BASE_BACKOFF = 5.0


REASONS = (
    ("No conversation found", "its session was not found (No conversation found)"),
    ("unknown option", "launch.command has an option this claude does not know"),
    ("Unable to connect", "it could not reach Anthropic (Unable to connect)"),
    ("Please run /login", "the account is not logged in"),
    ("Invalid API key", "the API key is invalid"),
    ("already in use", "its session id is already in use"),
    ("command not found", "its pane's login shell does not find launch.command: add its "
     "folder to PATH in ~/.profile or give launch.command the full path"),
)


def exit_reason(text: str) -> str:
    """Why a Claude left right after its launch, as its pane says it."""
    for needle, reason in REASONS:
        if needle in text:
            return reason
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    tail = [line for line in lines if not line.endswith(("$", "#", "%", ">"))]
    return f"the pane says: {tail[-1][:200]}" if tail else ""


class CrashLoops:
    def __init__(self, state: StateDir, window: float, max_backoff: float) -> None:
        self.state = state
        self.window = window
        self.max_backoff = max_backoff
        self.states: dict[str, CrashRecord] = state.read_crashloops()

    def _save(self) -> None:
        self.state.write_crashloops(self.states)

    def _crashed(self, target: str, launched: str, now: datetime, reason: str = "") -> None:
        old = self.states.get(target)
        if old is not None and old.last_launch == launched:
            return
        count = (old.count if old else 0) + 1
        delay = min(BASE_BACKOFF * 2 ** (count - 1), self.max_backoff)
        self.states[target] = CrashRecord(count, (now + timedelta(seconds=delay)).isoformat(),
                                          launched, reason)

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
                self._crashed(target, record.time, now, exit_reason(pane.text or ""))
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
        return {t: f"claude in {t} keeps exiting right after launch ({s.count} times"
                   + (f"; {s.reason}" if s.reason else "") + "); backing off"
                for t, s in self.states.items() if s.count >= 2}

    def clear(self, target: str) -> None:
        if self.states.pop(target, None) is not None:
            self._save()

