"""Alerts fire once when a problem appears and once more when it goes.

The book keeps what is firing in the state dir, so a restart neither repeats
an alert nor forgets to resolve it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from reconciler.statedir import StateDir, now_iso

KINDS = frozenset({
    "drift", "crashloop", "action_failed", "invalid_desired", "conflict", "cycle_failed",
    "limit", "failover", "all_limited", "stuck_session",
})


@dataclass(frozen=True)
class Alert:
    kind: str
    state: str
    """``firing`` or ``resolved``."""
    subject: str
    message: str
    time: str = field(default_factory=now_iso)
    details: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "state": self.state, "subject": self.subject,
                               "message": self.message, "time": self.time}
        if self.details:
            out["details"] = dict(self.details)
        return out


class AlertBook:
    """What is firing now, by (kind, subject); transitions become alerts."""

    def __init__(self, state: StateDir | None,
                 redact: Callable[[str], str] = lambda text: text) -> None:
        self.state = state
        self.redact = redact
        """Applied to every subject and message before it is kept or sent: pane text
        and Claude's words may carry a ``launch.env`` value."""
        self.firing: dict[str, dict[str, str]] = state.read_alerts() if state else {}

    def _save(self) -> None:
        if self.state is not None:
            self.state.write_alerts(self.firing)

    def update(self, kind: str, current: Mapping[str, str]) -> list[Alert]:
        """``current`` is every subject of ``kind`` that is a problem now, with its message."""
        alerts: list[Alert] = []
        known = self.firing.setdefault(kind, {})
        current = {self.redact(s): self.redact(m) for s, m in current.items()}
        for subject, message in current.items():
            if subject not in known:
                known[subject] = message
                alerts.append(Alert(kind, "firing", subject, message))
        for subject in [s for s in known if s not in current]:
            message = known.pop(subject)
            alerts.append(Alert(kind, "resolved", subject, f"resolved: {message}"))
        if alerts:
            self._save()
        return alerts

    def count(self) -> int:
        return sum(len(v) for v in self.firing.values())
