"""Is a piece of evidence a usage limit, of what kind, and when does it reset? Claude's
fields first, its words last.

* The API-error row (``apiError: usage_limit_reached``, ``apiErrorParams.rate_limit_info
  {resetsAt, rateLimitType}``, written by current releases) says it exactly, to the
  second, in any wording.
* The status line's windows: one at 100 % is used up, and its ``resets_at`` is exact.
* The words (``_detect``'s grammar): for the oldest release, whose row says only
  ``error: rate_limit`` (a transient throttle says the same), and for pane text. A reset
  read from words is exact only to its minute: where an epoch is known, the epoch wins.

A StopFailure ``rate_limit`` whose words are unknown is a limit only when its row or the
status line says so; a 429 that is not a usage limit (server throttling) stays none.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo

from reconciler.claudecode import ApiErrorRow
from reconciler.failover._detect import Clock, LimitMatch, checked, detect

WINDOW_KINDS = {"five_hour": "session", "seven_day": "weekly", "seven_day_opus": "opus",
                "seven_day_sonnet": "sonnet", "seven_day_oauth_apps": "weekly",
                "overage": "extra", "extra_usage": "extra"}
"""``rateLimitType`` and the status line's window names -> the kinds the words give."""
FULL = 100.0


def window_kind(name: str | None) -> str:
    return WINDOW_KINDS.get(name or "", "usage" if not name else name.replace("_", "-"))


def exhausted(windows: Mapping[str, tuple[float, datetime]]) -> tuple[str, datetime] | None:
    """The used-up window that resets last (name, reset), from the status line."""
    full = [(reset, name) for name, (used, reset) in windows.items() if used >= FULL]
    if not full:
        return None
    reset, name = max(full)
    return name, reset


def _epoch(seconds: float) -> datetime | None:
    """A row's ``resetsAt`` as an instant; None past what a datetime holds (``1e300``):
    then the reset is unreadable, and the default is assumed."""
    try:
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None


def judge(text: str, *, row: ApiErrorRow | None,
          windows: Mapping[str, tuple[float, datetime]], now: datetime, local: tzinfo,
          default_reset: timedelta, said_at: datetime | None = None) -> LimitMatch:
    """The verdict on one piece of evidence: its row's fields, else its words (with the
    status line's epoch for their reset), else the status line alone where the words
    say nothing either way (unknown wording, or no words at all)."""
    clock = Clock(now, said_at or now, default_reset)
    if row is not None and row.usage_limit:
        reset = _epoch(row.resets_at) if row.resets_at is not None else None
        kind = window_kind(row.window) if row.window else "usage"
        return checked(kind, reset, clock, row.text or text,
                       how="epoch from the transcript row" if row.resets_at is not None
                       else "no reset")
    full = exhausted(windows)
    words = detect(text, now=now, local=local, default_reset=default_reset,
                   said_at=said_at) if text else LimitMatch(False, "none", None, "no words")
    if words.limit:
        if full is not None:  # the same limit: the epoch beats the minute the words name
            name, reset = full
            return replace(words, resets_at=reset, approximate=False,
                           reason=f"{words.kind} limit, resets {reset.isoformat()} (epoch "
                                  f"from the status line's {name} window)")
        return words
    if full is not None and words.kind == "none":
        name, reset = full
        return checked(window_kind(name), reset, clock, text or f"{name} window at 100%",
                       how=f"epoch from the status line's {name} window")
    return words
