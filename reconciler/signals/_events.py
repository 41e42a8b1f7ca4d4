"""A StopFailure event as the hook spooled it: ``{"home": <home key>, "time": <epoch s>,
"event": <Claude's JSON on the hook's stdin>}``, typed. An older hook named its account
(``"account"``) instead of its home."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.claudecode import SessionId, session_id

RATE_LIMIT = "rate_limit"
"""``error`` of every 429: a usage limit, or a passing throttle (only its words or the
transcript row it reports tell them apart)."""


@dataclass(frozen=True)
class HookEvent:
    path: Path
    home: str | None
    """The home key (``claudecode.home_key``) of the Claude that fired it."""
    account: str | None
    """The account an older hook named, if any."""
    said_at: datetime | None
    """When the hook spooled it; None when it is not believable (in the future)."""
    error: str | None
    session: SessionId | None
    words: str
    """``last_assistant_message``: what Claude printed."""
    transcript: str | None
    cwd: str | None
    marker: str
    """What makes it one event (``prompt_id``, else the spool file's name)."""

    @property
    def rate_limited(self) -> bool:
        return self.error == RATE_LIMIT


def _spooled_at(raw: dict[str, Any], path: Path) -> datetime | None:
    """When the hook wrote the event. A time in the future (a clock, or a planted file)
    is not believed: a reset would be computed from a moment that has not come."""
    stamp = raw.get("time")
    try:
        seconds = float(stamp) if isinstance(stamp, int | float | str) else path.stat().st_mtime
        if not 0 < seconds <= time.time() + 300:
            return None
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OSError, ValueError, OverflowError):
        return None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def parse_event(path: Path, raw: dict[str, Any] | None) -> HookEvent | None:
    """The event, or None when the file is not one of ours (kept aside, never read)."""
    event = raw.get("event") if raw is not None else None
    if raw is None or not isinstance(event, dict):
        return None
    home, account = _text(raw.get("home")), _text(raw.get("account"))
    if home is None and account is None:
        return None
    marker = event.get("prompt_id")
    return HookEvent(
        path=path, home=home, account=account, said_at=_spooled_at(raw, path),
        error=_text(event.get("error")), session=session_id(event.get("session_id")),
        words=str(event.get("last_assistant_message") or ""),
        transcript=_text(event.get("transcript_path")), cwd=_text(event.get("cwd")),
        marker=marker if isinstance(marker, str) and marker else path.name)
