"""``reconcile limit-check``: the detector and parser as a command, for users asking
"why did (or didn't) it fail over?". Imports only what it needs, so it is fast."""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo

from reconciler.cli._main import EXIT_OK, Ui
from reconciler.failover import detect


def limit_check(args: argparse.Namespace, _ui: Ui) -> int:
    text = sys.stdin.read() if args.text == "-" else args.text
    local: tzinfo = ZoneInfo(args.tz) if args.tz else (datetime.now().astimezone().tzinfo or UTC)
    now = datetime.fromisoformat(args.now) if args.now else datetime.now(local)
    if now.tzinfo is None:
        now = now.replace(tzinfo=local)
    match = detect(text, now=now, local=local)
    sys.stdout.write(json.dumps(match.to_json()) + "\n")
    return EXIT_OK
