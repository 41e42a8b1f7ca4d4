"""``reconcile limit-check``: the detector and parser as a command, for users asking
"why did (or didn't) it fail over?". Imports only what it needs, so it is fast."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reconciler.cli._main import EXIT_ERROR, EXIT_OK, Ui
from reconciler.failover import detect


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
    match = detect(text, now=now, local=local)
    sys.stdout.write(json.dumps(match.to_json()) + "\n")
    return EXIT_OK
