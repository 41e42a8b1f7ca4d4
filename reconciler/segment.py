"""The tmux status segment: the line the service leaves each cycle and the text tmux
shows from it (``reconcile status --format tmux``).

tmux runs the segment every few seconds, so reading it costs next to nothing: a
three-line text file (no JSON, no regular expression, no date parsing), the limit's end
as an epoch so the countdown is live. Standard library, ``time`` only, and no
``typing``: this module sits under both the service and the CLI's first import.
"""

from __future__ import annotations

FILE = "segment.txt"
_LEVELS = ((90.0, "red"), (70.0, "yellow"), (0.0, "green"))
_WINDOWS = (("five_hour", "5h"), ("seven_day", "7d"))
NO_SERVICE = "#[fg=colour244]reconciler: no service#[default]"


def _colour(used: float) -> str:
    return next(colour for floor, colour in _LEVELS if used >= floor)


def leave(active: str, windows: dict[str, float], limited_until: float | None) -> str:
    """What the service writes: the limit's end (epoch, 0 when none), the active account
    (tmux-escaped), its windows' use already styled."""
    used = [f"#[fg={_colour(float(windows[name]))}]{short} {float(windows[name]):.0f}%"
            "#[default]" for name, short in _WINDOWS
            if isinstance(windows.get(name), int | float) and not isinstance(windows[name], bool)]
    until = int(limited_until) if limited_until is not None else 0
    name = active.replace("#", "##").replace("\n", " ")
    return f"{until}\n{name}\n{' '.join(used)}\n"


def _left(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def show(text: str | None, now: float) -> str:
    """The tmux text: the active account (red with a countdown while limited) and its
    windows; ``no service`` for a missing or foreign file."""
    lines = (text or "").split("\n")
    if len(lines) < 3 or not lines[0].isdigit() or not lines[1]:
        return NO_SERVICE
    seconds = int(lines[0]) - int(now)
    head = (f"#[fg=red,bold]{lines[1]} limited {_left(seconds)}#[default]" if seconds > 0
            else f"#[bold]{lines[1]}#[default]")
    return f"{head} {lines[2]}".rstrip()
