"""Where a usage limit is read from, most trusted first.

1. ``hook``: the StopFailure event Claude itself fired (``error: rate_limit``), spooled
   by the hook the reconciler installs; it arrives within a second. It is joined with
   the API-error row it reports (the event names its transcript), whose fields say
   whether the usage limit refused the request and when it resets, to the second.
2. ``status line``: a usage window at 100 %, with its reset epoch.
3. ``transcript``: the API-error row Claude wrote (``isApiErrorMessage``), only rows
   written after this Claude's launch (older ones are a resumed session's history).
4. ``pane``: only for an account whose signals are not installed. A pane shows what
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
import os
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reconciler.claudecode import (
    CONFIG_ENV,
    ApiErrorRow,
    api_error_row,
    home_key,
    transcript_dir,
    transcript_rows,
)
from reconciler.desired import DesiredState
from reconciler.failover._detect import normalise
from reconciler.observe import Observed, PaneFact
from reconciler.signals import HookEvent, SignalDir, parse_event
from reconciler.statedir import StateDir, read_regular

SOURCES = ("hook", "status line", "transcript", "pane")
"""Most trusted first."""
ROW_WAIT = 2.0
"""Seconds a hook event waits for the transcript row it reports (Claude flushes its
transcript in batches, and may fire the hook first)."""
_ROW_SKEW = timedelta(seconds=10)
"""A row this much older than its event is an earlier limit's, not this one's."""
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
    row: ApiErrorRow | None = None
    """The API-error row behind it (a transcript row, or the one a hook event reports):
    its fields come before its words."""


def _account_of(event: HookEvent, desired: DesiredState) -> str | None:
    names = {a.name for a in desired.accounts}
    if event.account in names:  # the spool of an older hook named its account
        return event.account
    keys = {home_key(a.home): a.name for a in desired.accounts}
    return keys.get(event.home) if event.home is not None else None


def hook_evidence(state: StateDir, desired: DesiredState) -> tuple[list[Evidence], list[Path]]:
    """Spooled StopFailure events that say ``rate_limit`` (each joined with the row it
    reports), and every spool file read."""
    spool = SignalDir(state.root)
    found: list[Evidence] = []
    paths: list[Path] = []
    junk: list[Path] = []
    for path, raw in spool.read_events():
        event = parse_event(path, raw)
        account = _account_of(event, desired) if event is not None else None
        if event is None or account is None:
            junk.append(path)  # not ours to read, nor to delete: kept aside
            continue
        paths.append(path)
        if not event.rate_limited:
            continue
        found.append(Evidence(account, "hook", f"hook:{event.session}:{event.marker}",
                              event.words, event.session, event.said_at,
                              _reported_row(desired, account, event)))
    spool.reject_events(junk)
    return found, paths


def _reported_row(desired: DesiredState, account: str, event: HookEvent) -> ApiErrorRow | None:
    """The rate-limit row a StopFailure event reports: its session's last one, written
    around the event's time. The event's ``transcript_path`` is believed only where it is
    that session's file under an account home's or the shared dir's ``projects``. Claude
    writes its transcript in batches and may fire the hook first: a row not there yet is
    waited for, a little (``ROW_WAIT``)."""
    session, cwd, said_at, named = event.session, event.cwd, event.said_at, event.transcript
    if session is None or cwd is None:
        return None
    path = transcript_dir(desired.account(account).home, cwd) / f"{session}.jsonl"
    if named is not None and Path(named).name == path.name:
        roots = tuple(os.path.realpath(root / "projects") + os.sep
                      for root in (*(a.home for a in desired.accounts), desired.shared.dir))
        if os.path.realpath(named).startswith(roots):
            path = Path(named)
    since = (said_at - _ROW_SKEW) if said_at is not None else None
    deadline = time.monotonic() + ROW_WAIT
    while True:
        row = _last_limit_row(path, since)
        if row is not None or time.monotonic() >= deadline or not path.parent.is_dir():
            return row
        time.sleep(0.05)


def _last_limit_row(path: Path, since: datetime | None) -> ApiErrorRow | None:
    try:
        rows = transcript_rows(read_regular(path, _TAIL_BYTES, tail=True))
    except OSError:
        return None
    for row in reversed(rows):
        error = api_error_row(row)
        if error is None or not error.rate_limited:
            continue
        when = _when(error.timestamp)
        return error if since is None or when is None or when >= since else None
    return None


_ERROR_ROWS: dict[tuple[int, int], tuple[tuple[int, int], list[ApiErrorRow]]] = {}
"""The API-error rows of each transcript, by (device, inode), with the (size, mtime) they
were read at: the service looks at every Claude's transcript every cycle, and parsing a
256 KiB tail again when nothing was written is most of an idle cycle."""
_ERROR_ROWS_MAX = 4096


def _error_rows(path: Path, st: os.stat_result) -> list[ApiErrorRow]:
    key, identity = (st.st_dev, st.st_ino), (st.st_size, st.st_mtime_ns)
    cached = _ERROR_ROWS.get(key)
    if cached is not None and cached[0] == identity:
        return cached[1]
    try:
        data = read_regular(path, _TAIL_BYTES, tail=True)
    except OSError:
        data = b""
    rows = [error for row in transcript_rows(data) if (error := api_error_row(row)) is not None]
    if len(_ERROR_ROWS) >= _ERROR_ROWS_MAX:
        _ERROR_ROWS.clear()
    _ERROR_ROWS[key] = (identity, rows)  # a row appended since the stat: read again next time
    return rows


_EARLIEST, _LATEST = datetime(1970, 1, 1, tzinfo=UTC), datetime(9000, 1, 1, tzinfo=UTC)


def _when(stamp: str) -> datetime | None:
    """A row's time, or None where it is no moment Claude wrote: no zone (it cannot be
    compared with one), or a year a reset cannot be computed from (``9999-12-31``)."""
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when if when.tzinfo is not None and _EARLIEST <= when <= _LATEST else None


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
            when = _when(row.timestamp)
            if launched is not None and when is not None and when < launched:
                before.update(normalise(row.text).splitlines())
                continue
            marker = row.uuid or hashlib.sha256(  # JSON's "\ud800" is a lone surrogate
                f"{row.timestamp}|{row.text}".encode(errors="surrogatepass")).hexdigest()[:16]
            found.append(Evidence(claude.account, "transcript", f"row:{marker}", row.text,
                                  claude.session_id, when, row))
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
    del lines  # normalise splits it again: not both at once
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
