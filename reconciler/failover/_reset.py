"""Parse the reset instant Claude prints: "5am", "Oct 31, 9am", "Jul 15 at 12am
(America/Detroit)", "Monday 9am", "in 2 hours 5 minutes", a gateway's "Jan 1 at 00:00
UTC"; zone-aware, DST-safe."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

_ZONE = re.compile(r"\(\s*([A-Za-z_]+(?:/[A-Za-z0-9_+\-]+)*)\s*\)")
_UTC = re.compile(r"\b(?:UTC|GMT)\b(?![+-]\d)")
"""A zone named bare, as a gateway writes it: only UTC is unambiguous that way."""
_CLOCK = re.compile(r"\b(\d{1,2})(?::(\d{2}))?\s*([ap])\.?m\.?\b", re.IGNORECASE)
_CLOCK24 = re.compile(r"\b([01]?\d|2[0-3]):([0-5]\d)\b")
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_DATE = re.compile(r"\b(" + "|".join(_MONTHS) + r")[a-z]*\.?\s+(\d{1,2})(?:st|nd|rd|th)?"
                   r"(?:,?\s+(\d{4}))?", re.IGNORECASE)
_DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_WEEKDAY = re.compile(r"\b(" + "|".join(_DAYS) + r")[a-z]*\b", re.IGNORECASE)
_RELATIVE = re.compile(
    r"\bin\s+(?:(\d+)\s*(?:hours?|hrs?|h)\b)?\s*(?:(\d+)\s*(?:minutes?|mins?|m)\b)?",
    re.IGNORECASE)


def _zone(text: str, local: tzinfo) -> tuple[tzinfo, str]:
    match = _ZONE.search(text)
    if not match:
        if _UTC.search(text):
            return ZoneInfo("UTC"), "UTC"
        return local, "local zone"
    try:
        return ZoneInfo(match.group(1)), match.group(1)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # "(America)" names a folder
        return local, f"unknown zone {match.group(1)}; local zone"


def _at(day: date, clock: time, zone: tzinfo) -> datetime:
    """A wall-clock time in ``zone``, normalised through UTC (a DST gap moves forward)."""
    naive = datetime.combine(day, clock)
    aware = naive.replace(tzinfo=zone)
    return aware.astimezone(ZoneInfo("UTC")).astimezone(zone)


def _clock(text: str) -> time | None:
    match = _CLOCK.search(text)
    if match:
        hour = int(match.group(1)) % 12 + (12 if match.group(3).lower() == "p" else 0)
        if int(match.group(1)) > 12:
            return None
        return time(hour, int(match.group(2) or 0))
    match = _CLOCK24.search(text)
    return time(int(match.group(1)), int(match.group(2))) if match else None


_MINUTE = timedelta(minutes=1)
"""What a clock time names: "resets 1:55am" printed at 1:55:05 is this minute, not tomorrow."""
MOST_AHEAD = timedelta(days=36)
"""No usage window is longer: a reset further out (``in 99999999999 hours``, ``Dec 31,
9999``) is not believed, and never reaches date arithmetic that would overflow."""


def parse_reset(text: str, *, now: datetime, local: tzinfo) -> tuple[datetime | None, str]:
    """(instant, how it was read); instant None when nothing in ``text`` is a time, or
    the time is implausibly far."""
    try:
        return _parse(text, now, local)
    except (OverflowError, ValueError):
        return None, "implausible"


def _parse(text: str, now: datetime, local: tzinfo) -> tuple[datetime | None, str]:
    relative = _RELATIVE.search(text)
    if relative and (relative.group(1) or relative.group(2)):
        hours, minutes = int(relative.group(1) or 0), int(relative.group(2) or 0)
        if hours * 60 + minutes > MOST_AHEAD.total_seconds() / 60:
            return None, "implausible"
        return now + timedelta(hours=hours, minutes=minutes), "relative"
    zone, zone_how = _zone(text, local)
    clock = _clock(text)
    today = now.astimezone(zone).date()
    dated = _DATE.search(text)
    if dated:
        month = _MONTHS.index(dated.group(1)[:3].lower()) + 1
        year = int(dated.group(3)) if dated.group(3) else today.year
        if not today.year - 1 <= year <= today.year + 1:
            return None, "implausible year"
        try:
            instant = _at(date(year, month, int(dated.group(2))), clock or time(0), zone)
        except ValueError:
            return None, "bad date"
        if not dated.group(3) and instant < now - timedelta(days=1):
            instant = _at(date(year + 1, month, int(dated.group(2))), clock or time(0), zone)
        if clock is None:
            return instant, f"date only: the end of that day, approximate; {zone_how}"
        return instant, f"date, {zone_how}"
    if clock is None:
        return None, "no time"
    weekday = _WEEKDAY.search(text)
    if weekday:
        ahead = (_DAYS.index(weekday.group(1)[:3].lower()) - today.weekday()) % 7
        instant = _at(today + timedelta(days=ahead), clock, zone)
        if instant + _MINUTE <= now:  # the minute named has ended: the next one
            instant = _at(today + timedelta(days=ahead + 7), clock, zone)
        return instant, f"weekday, {zone_how}"
    instant = _at(today, clock, zone)
    if instant + _MINUTE <= now:  # the minute named has ended: the next one
        instant = _at(today + timedelta(days=1), clock, zone)
    return instant, f"clock, {zone_how}"
