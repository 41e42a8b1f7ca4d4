"""Where a usage limit is read from, most trusted first.

1. ``hook``: the StopFailure event Claude itself fired (``error: rate_limit``), spooled
   by the hook the reconciler installs; it arrives within a second.
2. ``transcript``: the API-error row Claude wrote (``isApiErrorMessage``), only rows
   written after this Claude's launch (older ones are a resumed session's history).
3. ``pane``: only for an account whose signals are not installed. A pane shows what
   anyone prints: a person's pasted draft, Claude's own answer quoting a limit, a
   command's output; so where Claude's own signals arrive, the pane is never a source.
   Otherwise: the pane after the launch line, minus Claude's input box (between its two
   rules), its prompt lines, and lines the transcript had before the launch.

Each piece of evidence carries when it was printed (the hook's spool time, the row's
timestamp), so a reset is read from then: an event read late is not a new limit.

Every piece of evidence has a key; a key counts once (``evidence.json``), so a replayed
line, a restart, or ``reconcile limits clear`` never brings an old limit back.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from reconciler.claudecode import CONFIG_ENV, home_key, transcript_dir
from reconciler.desired import DesiredState
from reconciler.failover._detect import normalise
from reconciler.observe import Observed, PaneFact
from reconciler.statedir import StateDir, read_regular

SOURCES = ("hook", "status line", "transcript", "pane")
"""Most trusted first."""
_TAIL_BYTES = 256 * 1024
_INPUT_LINE = re.compile(r"^\s*(?:\u276f|>)(?!\s*\d+\.\s)")
"""A line of Claude's prompt (what a person typed, or typed before): never a signal. The
limit menu's cursor line (``U+276F 1. Stop and wait ...``) is not one."""
_RULE = re.compile(r"^\s*\u2500{8,}\s*$")
"""The horizontal rules above and below Claude's input box."""


@dataclass(frozen=True)
class Evidence:
    account: str
    source: str
    key: str
    """Counts once: the event, the transcript row, the pane's statement."""
    text: str
    session: str | None
    said_at: datetime | None = None
    """When Claude printed it; None for the pane (unknown: read as now)."""


def _account_of(raw: dict[str, object], desired: DesiredState) -> str | None:
    keys = {home_key(a.home): a.name for a in desired.accounts}
    names = set(keys.values())
    account = raw.get("account")  # the spool of an older hook named its account
    if isinstance(account, str) and account in names:
        return account
    home = raw.get("home")
    return keys.get(home) if isinstance(home, str) else None


def _spooled_at(raw: dict[str, object], path: Path) -> datetime | None:
    """When the hook wrote the event. A time in the future (a clock, or a planted file)
    is not believed: the reset would be computed from a moment that has not come."""
    stamp = raw.get("time")
    try:
        seconds = float(stamp) if isinstance(stamp, int | float | str) else path.stat().st_mtime
        if not 0 < seconds <= time.time() + 300:
            return None
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OSError, ValueError, OverflowError):
        return None


def hook_evidence(state: StateDir, desired: DesiredState) -> tuple[list[Evidence], list[Path]]:
    """Spooled StopFailure events that say ``rate_limit``, and every spool file read."""
    found: list[Evidence] = []
    paths: list[Path] = []
    junk: list[Path] = []
    for path, raw in state.read_events():
        event = raw.get("event") if raw is not None else None
        account = _account_of(raw, desired) if raw is not None else None
        if raw is None or not isinstance(event, dict) or account is None:
            junk.append(path)  # not ours to read, nor to delete: kept aside
            continue
        paths.append(path)
        if event.get("error") != "rate_limit":
            continue
        session = event.get("session_id")
        text = str(event.get("last_assistant_message") or "You've hit your usage limit")
        marker = event.get("prompt_id") or path.name
        found.append(Evidence(account, "hook", f"hook:{session}:{marker}", text,
                              session if isinstance(session, str) else None,
                              _spooled_at(raw, path)))
    state.reject_events(junk)
    return found, paths


def _rows(path: Path) -> Iterator[dict[str, object]]:
    try:
        data = read_regular(path, _TAIL_BYTES, tail=True)
    except OSError:
        return
    for line in data.splitlines():
        try:
            row = json.loads(line)
        except (ValueError, RecursionError):
            continue
        if isinstance(row, dict):
            yield row


_ERROR_ROWS: dict[tuple[int, int], tuple[tuple[int, int], list[dict[str, object]]]] = {}
"""The API-error rows of each transcript, by (device, inode), with the (size, mtime) they
were read at: the service looks at every Claude's transcript every cycle, and parsing a
256 KiB tail again when nothing was written is most of an idle cycle."""
_ERROR_ROWS_MAX = 4096


def _error_rows(path: Path, st: os.stat_result) -> list[dict[str, object]]:
    key, identity = (st.st_dev, st.st_ino), (st.st_size, st.st_mtime_ns)
    cached = _ERROR_ROWS.get(key)
    if cached is not None and cached[0] == identity:
        return cached[1]
    rows = [row for row in _rows(path)
            if row.get("type") == "assistant" and row.get("isApiErrorMessage")]
    if len(_ERROR_ROWS) >= _ERROR_ROWS_MAX:
        _ERROR_ROWS.clear()
    _ERROR_ROWS[key] = (identity, rows)  # a row appended since the stat: read again next time
    return rows


def _row_text(row: dict[str, object]) -> str:
    message = row.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return ""


def _when(row: dict[str, object]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(row.get("timestamp", "")).replace("Z", "+00:00"))
    except ValueError:
        return None


def transcript_evidence(desired: DesiredState, pane: PaneFact,
                        launched: datetime | None) -> tuple[list[Evidence], set[str]]:
    """API-error rows written after the launch, and the normalised lines of those written
    before it (a resumed session's old limit, shown again in its new pane)."""
    claude = pane.claude
    if claude is None or not claude.session_id or not claude.cwd or not claude.account:
        return [], set()
    seen: set[tuple[int, int]] = set()
    found: list[Evidence] = []
    before: set[str] = set()
    for home in [*(a.home for a in desired.accounts), desired.shared.dir]:
        path = transcript_dir(home, claude.cwd) / f"{claude.session_id}.jsonl"
        try:  # one file reached through every home's link: by its inode, one stat each
            st = path.stat()
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen:
            continue
        seen.add((st.st_dev, st.st_ino))
        for row in _error_rows(path, st):
            text = _row_text(row)
            when = _when(row)
            if launched is not None and when is not None and when < launched:
                before.update(normalise(text).splitlines())
                continue
            marker = row.get("uuid") or hashlib.sha256(
                f"{row.get('timestamp')}|{text}".encode()).hexdigest()[:16]
            found.append(Evidence(claude.account, "transcript", f"row:{marker}", text,
                                  claude.session_id, when))
    return found, before


def since_launch(text: str) -> str:
    """The pane after our last launch line: what the Claude running there now printed,
    not what an earlier Claude in the same pane left in the scrollback."""
    marker = text.rfind(CONFIG_ENV + "=")
    if marker < 0:
        return text
    return text[text.find("\n", marker) + 1:] if "\n" in text[marker:] else ""


def pane_text(text: str, replays: set[str]) -> str:
    """The pane after our launch line, without the prompt's lines (what a person typed)
    and without lines the transcript had before the launch."""
    lines = since_launch(text).splitlines()
    rules = [i for i, line in enumerate(lines) if _RULE.match(line)]
    if len(rules) >= 2:  # Claude's input box: a draft, a paste, never Claude's words
        del lines[rules[-2]:rules[-1] + 1]
    kept = "\n".join(line for line in lines if not _INPUT_LINE.match(line))
    return "\n".join(line for line in normalise(kept).splitlines() if line not in replays)


def pane_key(pane: PaneFact, statement: str) -> str:
    """The same statement in the same session is the same evidence, in any pane."""
    session = pane.claude.session_id if pane.claude else None
    digest = hashlib.sha256(normalise(statement).encode()).hexdigest()[:16]
    return f"pane:{session}:{digest}"


def launched_at(observed: Observed, pane: PaneFact) -> datetime | None:
    record = observed.records.get(pane.target)
    if record is None or not record.time or pane.claude is None or record.pid != pane.claude.pid:
        return None
    try:
        return datetime.fromisoformat(record.time)
    except ValueError:
        return None
