"""Words for people: paths under ``$HOME`` as ``~``, time left as ``2h59m``. The standard
library only, so the lightest commands (``limit-check``, ``init``) can use them too."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path


def short(text: str) -> str:
    """Every path under ``$HOME`` in a line of text as ``~/...`` (human output only: the
    JSON keeps absolute paths)."""
    home = str(Path.home())
    if home in ("", "/"):
        return text
    return re.sub(re.escape(home) + r"(?=/|\s|$|[)\],;:'\"])", "~", text)


def tilde(path: Path | str) -> str:
    """A path under ``$HOME`` as ``~/...``: shorter, and the same on every machine."""
    return short(str(path))


def countdown(when: datetime, now: datetime) -> str:
    """``4d23h``, ``2h59m``, ``3m05s``, ``9s``: what is left until ``when`` (``now`` once
    past)."""
    left = max(0, int((when - now).total_seconds()))
    days, rest = divmod(left, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    if days:
        return f"{days}d{hours:02d}h"
    if hours:
        return f"{hours}h{minutes:02d}m"
    if minutes:
        return f"{minutes}m{seconds:02d}s"
    return f"{seconds}s" if left else "now"
