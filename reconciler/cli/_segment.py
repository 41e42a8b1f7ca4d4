"""``reconcile status --format tmux``: the active account, its five-hour and weekly use,
and a countdown while it is limited, in tmux's ``#[...]`` style for ``status-right``.

It reads one small file the service writes each cycle (``summary.json``): no tmux call,
no observe, no desired file, nothing heavy imported, so tmux can run it every few
seconds. Standard library only.
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from reconciler.cli._ui import EXIT_OK, Ui, state_dir

_LEVELS = ((90.0, "red"), (70.0, "yellow"), (0.0, "green"))
_NAMES = {"five_hour": "5h", "seven_day": "7d"}


def _colour(used: float) -> str:
    return next(colour for floor, colour in _LEVELS if used >= floor)


def _left(until: str, now: float) -> str | None:
    try:
        seconds = int(datetime.fromisoformat(until).timestamp() - now)
    except (TypeError, ValueError):
        return None
    if seconds <= 0:
        return None
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def segment(summary: Any, now: float) -> str:
    """The tmux text for one summary (``{"active", "windows", "limited_until"}``)."""
    if not isinstance(summary, dict) or not isinstance(summary.get("active"), str):
        return "#[fg=colour244]reconciler: no service#[default]"
    active = summary["active"].replace("#", "##")
    left = _left(str(summary.get("limited_until") or ""), now)
    parts = [f"#[fg=red,bold]{active} limited {left}#[default]" if left
             else f"#[bold]{active}#[default]"]
    windows = summary.get("windows")
    for name, short in _NAMES.items():
        used = windows.get(name) if isinstance(windows, dict) else None
        if isinstance(used, int | float) and not isinstance(used, bool):
            parts.append(f"#[fg={_colour(float(used))}]{short} {used:.0f}%#[default]")
    return " ".join(parts)


def status_segment(args: argparse.Namespace, ui: Ui) -> int:
    path = Path(state_dir(args)) / "summary.json"
    try:
        summary = json.loads(path.read_bytes()[:65536])
    except (OSError, ValueError, RecursionError):
        summary = None
    ui.say(segment(summary, time.time()))
    return EXIT_OK
