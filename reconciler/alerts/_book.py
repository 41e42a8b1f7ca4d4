"""Alerts fire once when a problem appears and once more when it goes.

The book keeps what is firing in the state dir, so a restart neither repeats
an alert nor forgets to resolve it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.statedir import now_iso, read_json, write_json

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

    def __init__(self, path: Path | None) -> None:
        self.path = path
        raw = read_json(path) if path is not None else None
        self.firing: dict[str, dict[str, str]] = raw if isinstance(raw, dict) else {}

    def _save(self) -> None:
        if self.path is not None:
            write_json(self.path, self.firing)

    def update(self, kind: str, current: Mapping[str, str]) -> list[Alert]:
        """``current`` is every subject of ``kind`` that is a problem now, with its message."""
        alerts: list[Alert] = []
        known = self.firing.setdefault(kind, {})
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

    def fire(self, kind: str, subject: str, message: str, **details: Any) -> list[Alert]:
        """An event-like alert that stays firing until ``resolve`` (e.g. a failover)."""
        known = self.firing.setdefault(kind, {})
        if subject in known:
            return []
        known[subject] = message
        self._save()
        return [Alert(kind, "firing", subject, message, details=details)]

    def resolve(self, kind: str, subject: str, message: str = "") -> list[Alert]:
        known = self.firing.setdefault(kind, {})
        if subject not in known:
            return []
        old = known.pop(subject)
        self._save()
        return [Alert(kind, "resolved", subject, message or f"resolved: {old}")]

    def count(self) -> int:
        return sum(len(v) for v in self.firing.values())
