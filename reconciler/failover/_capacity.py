"""What each account has left: its usage windows, from the usage endpoint (the service's
poller, ``usage.json``) or from its Claudes' status lines, whichever is newer, with the
reading's age and a forecast of when each window runs out at its burn rate.

Failover moves to the account with the most headroom (``failover.choose: headroom``):
never one at or above the bar (``preempt_at``, else 95 %) in a window the moving Claudes
use (the five-hour and the weekly one), one whose usage is known before one whose usage
is not, ties by ``failover.order``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from reconciler.claudecode import home_key
from reconciler.desired import DesiredState
from reconciler.failover._reset import MOST_AHEAD
from reconciler.signals import SignalDir
from reconciler.statedir import StateDir, UsageRecord

USED_BY_EVERY_CLAUDE = ("five_hour", "seven_day")
"""The windows every Claude spends from; the per-model weekly ones only some do."""
DEFAULT_BAR = 95.0


@dataclass(frozen=True)
class Window:
    name: str
    used: float
    resets_at: datetime | None
    source: str
    """``usage endpoint`` or ``status line``."""
    read_at: datetime | None
    runs_out: datetime | None = None
    """When it reaches 100 % at the burn rate of the last readings, if before its reset."""
    rate: float | None = None
    """Percent per hour."""


@dataclass(frozen=True)
class Room:
    """An account's windows, and what is left in the ones every Claude uses."""

    account: str
    windows: tuple[Window, ...] = ()
    note: str = ""
    """Why nothing is known (an expired token, the endpoint's refusal)."""

    def window(self, name: str) -> Window | None:
        return next((w for w in self.windows if w.name == name), None)

    @property
    def known(self) -> bool:
        return any(self.window(n) is not None for n in USED_BY_EVERY_CLAUDE)

    @property
    def used(self) -> float:
        """The fullest of the windows every Claude uses (0 when none is known)."""
        return max((w.used for n in USED_BY_EVERY_CLAUDE if (w := self.window(n))), default=0.0)

    @property
    def headroom(self) -> float:
        return 100.0 - self.used

    def over(self, bar: float) -> list[Window]:
        return [w for n in USED_BY_EVERY_CLAUDE if (w := self.window(n)) and w.used >= bar]

    def words(self) -> str:
        """``5-hour 10%, weekly 12%`` (or why unknown)."""
        names = {"five_hour": "5-hour", "seven_day": "weekly"}
        known = [f"{names.get(w.name, w.name.replace('_', '-'))} {w.used:g}%"
                 for w in self.windows if w.name in names]
        return ", ".join(known) or f"usage unknown{f' ({self.note})' if self.note else ''}"


def _instant(stamp: float, now: datetime) -> datetime | None:
    """A status line's ``resets_at`` (epoch seconds; milliseconds are recognised), or
    None when it is not a plausible moment."""
    try:
        seconds = stamp / 1000 if stamp > 1e11 else stamp  # a 400-digit int: OverflowError
        reset = datetime.fromtimestamp(seconds, tz=now.tzinfo)
    except (OverflowError, ValueError, OSError):
        return None
    return reset if reset <= now + MOST_AHEAD else None


def _percent(value: object) -> float | None:
    """A status line's ``used_percentage``, or None: not a number, NaN, Infinity, or an
    int no float holds."""
    if not isinstance(value, int | float):
        return None
    try:
        used = float(value)
    except OverflowError:
        return None
    return used if math.isfinite(used) else None


def usage(desired: DesiredState, state: StateDir, account: str,
          now: datetime) -> dict[str, tuple[float, datetime]]:
    """The account's windows from its Claudes' status lines: name -> (percent used,
    reset), the newest window and the highest use; windows already reset are left out
    (a Claude just resumed here has seen none yet)."""
    found: dict[str, tuple[float, datetime]] = {}
    for raw in SignalDir(state.root).read_usage(home_key(desired.account(account).home)):
        limits = raw.get("rate_limits")
        for name, window in (limits.items() if isinstance(limits, dict) else ()):
            if not isinstance(window, dict):
                continue
            used, resets = _percent(window.get("used_percentage")), window.get("resets_at")
            if used is None or not isinstance(resets, int | float):
                continue
            reset = _instant(resets, now)
            old = found.get(str(name))
            if reset is not None and reset > now and (
                    old is None or (reset, used) > (old[1], old[0])):
                found[str(name)] = (used, reset)
    return found


def forecast(record: UsageRecord, name: str, used: float, resets_at: datetime | None,
             now: datetime) -> tuple[float | None, datetime | None]:
    """(percent per hour, when it runs out) from the readings of this window since its
    last reset (a reading with more used than now's is from before it)."""
    points = [(when, dict(used_by).get(name)) for when, used_by in record.history]
    points = [(when, value) for when, value in points if value is not None and value <= used]
    if len(points) < 2:
        return None, None
    (first, start), (last, end) = points[0], points[-1]
    hours = (last - first).total_seconds() / 3600
    if hours <= 0 or end is None or start is None or end <= start:
        return (0.0 if hours > 0 else None), None
    rate = (end - start) / hours
    try:
        out = last + timedelta(hours=(100.0 - end) / rate)
    except OverflowError:  # a rate of next to nothing (5e-324 % an hour): never runs out
        return rate, None
    if resets_at is not None and out >= resets_at:
        return rate, None
    return rate, max(out, now)


def rooms(accounts: Iterable[str], records: Mapping[str, UsageRecord],
          status_lines: Mapping[str, Mapping[str, tuple[float, datetime]]],
          status_at: Mapping[str, datetime | None], now: datetime) -> dict[str, Room]:
    """Each account's room: per window the newer of the endpoint's reading and the status
    line's (a Claude running there sees every reply's headers)."""
    found: dict[str, Room] = {}
    for account in accounts:
        record = records.get(account)
        windows: dict[str, Window] = {}
        if record is not None and record.read_at is not None:
            for w in record.windows:
                if w.resets_at is not None and w.resets_at <= now:
                    continue  # reset since it was read
                rate, out = forecast(record, w.name, w.used, w.resets_at, now)
                windows[w.name] = Window(w.name, w.used, w.resets_at, "usage endpoint",
                                         record.read_at, out, rate)
        seen = status_at.get(account)
        for name, (used, reset) in status_lines.get(account, {}).items():
            old = windows.get(name)
            if old is None or (seen is not None and (old.read_at is None or seen > old.read_at)):
                windows[name] = Window(name, used, reset, "status line", seen,
                                       old.runs_out if old else None, old.rate if old else None)
        found[account] = Room(account, tuple(sorted(windows.values(), key=lambda w: w.name)),
                              record.note if record is not None else "")
    return found


def by_headroom(candidates: list[str], room_of: Mapping[str, Room],
                bar: float) -> tuple[list[str], dict[str, str]]:
    """The candidates best first (known headroom, most left; then unknown; ties keep the
    given order), and the ones left out with why (at or over the bar)."""
    skipped: dict[str, str] = {}
    kept: list[str] = []
    for name in candidates:
        room = room_of.get(name, Room(name))
        over = room.over(bar)
        if over:
            skipped[name] = ", ".join(f"{w.name.replace('_', '-')} {w.used:g}% >= {bar:g}%"
                                      for w in over)
        else:
            kept.append(name)
    kept.sort(key=lambda n: (not room_of.get(n, Room(n)).known,
                             -room_of.get(n, Room(n)).headroom))
    return kept, skipped


def headroom_table(desired: DesiredState, state: StateDir, now: datetime) -> dict[str, Room]:
    """Every account's room, from what the service's poller and the status lines wrote."""
    spool = SignalDir(state.root)
    lines, seen = {}, {}
    for account in desired.accounts:
        lines[account.name] = usage(desired, state, account.name, now)
        stamp = spool.status_seen(home_key(account.home))
        seen[account.name] = datetime.fromtimestamp(stamp, tz=UTC) if stamp else None
    return rooms([a.name for a in desired.accounts], state.read_usage_records(), lines, seen,
                 now)


def usage_view(desired: DesiredState, state: StateDir, now: datetime) -> dict[str, Any]:
    """Per account: each window's percent used, reset, source, the reading's age and the
    forecast; and why nothing is known, where nothing is. For views and ``--json``."""
    view: dict[str, Any] = {}
    for name, room in headroom_table(desired, state, now).items():
        windows: dict[str, Any] = {
            w.name: {"used_percentage": w.used,
                     "resets_at": w.resets_at.isoformat() if w.resets_at else None,
                     "source": w.source,
                     "read_at": w.read_at.isoformat() if w.read_at else None,
                     "age_seconds": int((now - w.read_at).total_seconds()) if w.read_at
                     else None,
                     "burn_percent_per_hour": round(w.rate, 2) if w.rate is not None else None,
                     "runs_out_at": w.runs_out.isoformat() if w.runs_out else None}
            for w in room.windows}
        if room.note and not room.windows:
            windows["note"] = room.note
        view[name] = windows
    return view
