"""``reconcile limit-check``: the detector and parser as a command, for users asking
"why did (or didn't) it fail over?". Imports only what it needs, so it is fast."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reconciler.cli._text import countdown
from reconciler.cli._ui import EXIT_ERROR, EXIT_OK, Ui
from reconciler.failover import detect

EXIT_NOT_A_LIMIT = 1
"""Like grep: 0 when the text is a usage limit, 1 when it is not, so scripts can test it."""


def limit_check(args: argparse.Namespace, ui: Ui) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    try:
        local: tzinfo = ZoneInfo(args.tz) if args.tz else (
            datetime.now().astimezone().tzinfo or UTC)
    except (ZoneInfoNotFoundError, ValueError):
        ui.error(f"error: --tz {args.tz!r} is not a time zone (an IANA name such as "
                 "Europe/Berlin or UTC)")
        return EXIT_ERROR
    try:
        now = datetime.fromisoformat(args.now) if args.now else datetime.now(local)
    except ValueError:
        ui.error(f"error: --now {args.now!r} is not an ISO 8601 time "
                 "(2026-11-25T01:00 or 2026-11-25T01:00+00:00)")
        return EXIT_ERROR
    if now.tzinfo is None:
        now = now.replace(tzinfo=local)
    try:
        match = detect(text, now=now, local=local)
    except OverflowError:
        ui.error(f"error: --now {args.now!r} is too far from today to compute a reset")
        return EXIT_ERROR
    if args.json:
        sys.stdout.write(json.dumps(match.to_json()) + "\n")
    elif match.limit and match.resets_at is not None:
        ui.say(f"a usage limit ({match.kind}): resets {match.resets_at:%Y-%m-%d %H:%M %Z}, in "
               f"{countdown(match.resets_at, now)}"
               + (" (the day only: its start assumed)" if match.approximate else ""))
        ui.say(f"  why: {match.reason}")
    else:
        ui.say(f"not a usage limit: {match.reason}")
    return EXIT_OK if match.limit else EXIT_NOT_A_LIMIT
