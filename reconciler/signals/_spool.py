"""The state dir's ``signals/`` folder: what Claude's hook and status line write, the
scripts they run, and what ``reconcile signals remove`` needs to give settings back.
The one place its layout is known.

    signals/bin/stop-failure, statusline   the two scripts (Claude runs them)
    signals/events/*.json                  the StopFailure hook's spool
    signals/rejected/                      spool files we cannot read, put aside
    signals/status/<home key>/<id>.json    each session's last status-line input
    signals/user-statusline/<acct>.json    an older release's copy of the user's line
    signals/created/<settings slug>        the signals created that settings file
    signals/originals/<settings slug>      its bytes before the signals went in

Claude's scripts write into this folder, so everything here is reached through
``_below``: no folder below the root and no file is ever a link we follow (one planted
in place of ``originals/<slug>`` would otherwise hand its JSON to the user's settings, one
in place of ``status/<home>`` would have files elsewhere deleted as stale)."""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import stat
import time
from collections.abc import Iterable
from importlib import resources
from pathlib import Path
from typing import Any

from reconciler.signals._settings import SignalCommands
from reconciler.statedir import (
    UnsafeStateError,
    ensure_private_dir,
    folder,
    is_file_at,
    read_regular,
    unlink_at,
    write_at,
)

_SIGNALS = "signals"
_BIN = (_SIGNALS, "bin")
_EVENTS = (_SIGNALS, "events")
_REJECTED = (_SIGNALS, "rejected")
_STATUS = (_SIGNALS, "status")
_USER_LINE = (_SIGNALS, "user-statusline")
_CREATED = (_SIGNALS, "created")
_ORIGINALS = (_SIGNALS, "originals")
_STOP_FAILURE, _STATUS_LINE = "stop-failure", "statusline"
_STALE = 8 * 86400
"""A status file this old: every usage window has reset since, its Claude is gone."""
_SCRIPTS = {_STOP_FAILURE: "stop-failure.sh", _STATUS_LINE: "statusline.sh"}
"""The scripts Claude runs, shipped beside this module: each finds the spool from where
it lies (``signals/bin/..``), so one text serves every state dir."""


_STATUS_BYTES = 64 * 1024
"""A status snapshot larger than this was not written by our script: not read whole."""
_EVENT_BYTES = (1 << 20) + 4096
"""The hook keeps the first MiB of Claude's JSON and wraps it in its home and time: a
larger event was not written by it, and is not read whole (cut short, it is no JSON)."""


def _json_at(fd: int, name: str, limit: int = -1) -> Any:
    """A JSON file in an opened folder, or None (missing, a link, not JSON)."""
    try:
        return json.loads(read_regular(name, limit, follow_links=False, dir_fd=fd))
    except (OSError, ValueError, RecursionError):
        return None


class SignalDir:
    """The ``signals/`` folder of one state dir: names and safe access, nothing else."""

    def __init__(self, root: Path) -> None:
        self.root = root
        """The state dir."""

    # -- the scripts Claude runs ---------------------------------------------------------

    @property
    def stop_failure_script(self) -> Path:
        return self.root.joinpath(*_BIN, _STOP_FAILURE)

    @property
    def status_line_script(self) -> Path:
        return self.root.joinpath(*_BIN, _STATUS_LINE)

    def commands(self) -> SignalCommands:
        """The hook and status-line commands, by absolute path: hooks run in the pane's
        login shell, whose PATH may not hold the reconciler."""
        return SignalCommands(shlex.quote(str(self.stop_failure_script.absolute())),
                              shlex.quote(str(self.status_line_script.absolute())))

    def install_scripts(self) -> None:
        """Both scripts, mode 0700, each rewritten only when its text changed. Every
        Claude runs them: never written through a link (UnsafeStateError)."""
        ensure_private_dir(self.root)
        with folder(self.root, _BIN, create=True) as fd:
            for name, source in _SCRIPTS.items():
                text = resources.files(__package__).joinpath(source).read_bytes()
                with contextlib.suppress(OSError):
                    if read_regular(name, follow_links=False, dir_fd=fd) == text:
                        continue
                try:
                    write_at(fd, name, text, mode=0o700)
                except OSError as exc:
                    raise UnsafeStateError(f"{self.root.joinpath(*_BIN, name)}: {exc}") from None

    # -- the StopFailure hook's spool ------------------------------------------------------

    def events_dir(self) -> Path:
        return self.root.joinpath(*_EVENTS)

    def read_events(self) -> list[tuple[Path, dict[str, Any] | None]]:
        """Events the StopFailure hook spooled, oldest first (None: not JSON). Anything
        else found in the spool is moved to ``signals/rejected`` (kept, never read again)."""
        events: list[tuple[Path, dict[str, Any] | None]] = []
        odd: list[Path] = []
        try:
            with folder(self.root, _EVENTS) as fd:
                for entry in sorted(os.scandir(fd), key=lambda e: e.name):
                    path = self.events_dir() / entry.name
                    if entry.name.startswith("."):
                        continue  # a hook still writing it
                    if not entry.name.endswith(".json") or not entry.is_file(
                            follow_symlinks=False):
                        odd.append(path)
                        continue
                    raw = _json_at(fd, entry.name, limit=_EVENT_BYTES)
                    events.append((path, raw if isinstance(raw, dict) else None))
        except OSError:
            return []
        self.reject_events(odd)
        return events

    def event_names(self) -> frozenset[str]:
        """What is in the spool now; the service wakes when a name appears in it."""
        try:
            with folder(self.root, _EVENTS) as fd:
                return frozenset(e.name for e in os.scandir(fd) if not e.name.startswith("."))
        except OSError:
            return frozenset()

    def reject_events(self, paths: Iterable[Path]) -> None:
        """Spool files (by name) that are not events we can read (not JSON, another
        home): moved to ``signals/rejected``, kept for whoever wants to look, never read
        again. A link is moved as the link it is."""
        names = [p.name for p in paths]
        if not names:
            return
        with contextlib.suppress(OSError, UnsafeStateError), \
                folder(self.root, _EVENTS) as spool, \
                folder(self.root, _REJECTED, create=True) as rejected:
            for name in names:
                with contextlib.suppress(OSError):
                    os.rename(name, name, src_dir_fd=spool, dst_dir_fd=rejected)

    def consume_events(self, paths: Iterable[Path]) -> None:
        """Our own spool, read: removed (by name, in the spool itself), so an event
        counts once."""
        with contextlib.suppress(OSError), folder(self.root, _EVENTS) as fd:
            for path in paths:
                unlink_at(fd, path.name)

    # -- status-line snapshots ------------------------------------------------------------

    def read_usage(self, home_key: str) -> list[dict[str, Any]]:
        """The last status-line JSON each session of the home ``home_key`` was given (the
        script keeps the first 16 KiB of each); a stale file is removed (only in the
        folder itself, never through a link)."""
        found = []
        old = time.time() - _STALE
        with contextlib.suppress(OSError), folder(self.root, (*_STATUS, home_key)) as fd:
            for entry in list(os.scandir(fd)):
                name = entry.name
                if not name.endswith(".json") or name.startswith("."):
                    continue
                with contextlib.suppress(OSError):
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                    if not stat.S_ISREG(st.st_mode):
                        continue
                    if st.st_mtime < old:
                        unlink_at(fd, name)
                        continue
                raw = _json_at(fd, name, limit=_STATUS_BYTES)
                if isinstance(raw, dict):
                    found.append(raw)
        return found

    def status_seen(self, home_key: str) -> float | None:
        """When a Claude of that home last refreshed its status line (epoch seconds)."""
        newest = None
        with contextlib.suppress(OSError), folder(self.root, (*_STATUS, home_key)) as fd:
            for entry in os.scandir(fd):
                if entry.name.endswith(".json") and not entry.name.startswith("."):
                    with contextlib.suppress(OSError):
                        st = entry.stat(follow_symlinks=False)
                        if stat.S_ISREG(st.st_mode):
                            newest = max(newest or 0.0, st.st_mtime)
        return newest

    # -- what removing the signals gives back --------------------------------------------

    def read_user_statusline(self, account: str) -> str | None:
        """The user's own status line, as an older release saved it for ``account``."""
        with contextlib.suppress(OSError), folder(self.root, _USER_LINE) as fd:
            saved = _json_at(fd, f"{account}.json")
            if isinstance(saved, dict) and "command" in saved:
                return str(saved["command"])
        return None

    def mark_created(self, slug: str) -> None:
        """The settings file named by ``slug`` did not exist: the signals create it."""
        ensure_private_dir(self.root)
        with folder(self.root, _CREATED, create=True) as fd:
            write_at(fd, slug, b"")

    def was_created(self, slug: str) -> bool:
        with contextlib.suppress(OSError), folder(self.root, _CREATED) as fd:
            return is_file_at(fd, slug)
        return False

    def forget_created(self, slug: str) -> None:
        with contextlib.suppress(OSError), folder(self.root, _CREATED) as fd:
            unlink_at(fd, slug)

    def read_original(self, slug: str) -> dict[str, Any] | None:
        """The settings' bytes before the signals went in, and a digest of what they
        wrote (see ``apply._claude_config``); None when there is no such record."""
        with contextlib.suppress(OSError), folder(self.root, _ORIGINALS) as fd:
            saved = _json_at(fd, slug)
            return saved if isinstance(saved, dict) else None
        return None

    def write_original(self, slug: str, record: dict[str, Any]) -> None:
        ensure_private_dir(self.root)
        with folder(self.root, _ORIGINALS, create=True) as fd:
            write_at(fd, slug, json.dumps(record).encode())

    def forget_original(self, slug: str) -> None:
        with contextlib.suppress(OSError), folder(self.root, _ORIGINALS) as fd:
            unlink_at(fd, slug)
