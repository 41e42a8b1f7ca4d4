"""Claude's own registry: ``sessions/<pid>.json`` and transcripts under ``projects/``.

Every directory is resolved once per cycle, every session file is read once, and a
session id from any of these files counts only when it is a canonical UUID: anything
else is left out with a note, so a planted value never reaches a shell.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reconciler.claudecode import SessionId, project_slug, session_id, sessions_dir
from reconciler.observe._model import LiveSession, StaleSession
from reconciler.statedir import read_regular


def _load(path: str) -> dict[str, Any] | None:
    try:
        raw = json.loads(read_regular(path, 1 << 20))
    except (OSError, ValueError, RecursionError):
        return None
    return raw if isinstance(raw, dict) else None


@functools.lru_cache(maxsize=4096)
def _load_once(path: str, _identity: tuple[int, int, int]) -> dict[str, Any] | None:
    """A session file, parsed again only when it changed (inode, size, mtime): the
    service reads every one at every cycle, and they change only when a Claude does."""
    return _load(path)


def _load_entry(entry: os.DirEntry[str]) -> dict[str, Any] | None:
    try:
        st = entry.stat(follow_symlinks=False)
    except OSError:
        return None
    found = _load_once(entry.path, (st.st_ino, st.st_size, st.st_mtime_ns))
    return dict(found) if found is not None else None


Real = Callable[[str | os.PathLike[str]], str]
"""The cycle's memo of ``os.path.realpath`` (``_fs.RealPaths``)."""


def unique_dirs(paths: Iterable[Path], real_path: Real = os.path.realpath) -> list[Path]:
    """Each real directory once, in the given order."""
    seen: set[str] = set()
    out = []
    for path in paths:
        real = real_path(path)
        if real not in seen:
            seen.add(real)
            out.append(path)
    return out


@dataclass(frozen=True)
class SessionFile:
    pid: int
    session_id: SessionId | None
    status: str | None
    cwd: str | None


@dataclass
class Registry:
    """What the session files of every home say, read once."""

    real_path: Real = os.path.realpath
    files: dict[tuple[str, int], SessionFile] = field(default_factory=dict)
    """(real home, pid) -> the file."""
    live: dict[SessionId, LiveSession] = field(default_factory=dict)
    stale: dict[int, StaleSession] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def of(self, home: Path | str, pid: int) -> SessionFile | None:
        return self.files.get((self.real_path(home), pid))


def read_registry(homes: Sequence[Path], alive: Callable[[int], bool],
                  real_path: Real = os.path.realpath) -> Registry:
    """Every ``sessions/<pid>.json`` of ``homes``; ``alive`` says whether a pid is a
    running Claude (not merely a running process: pids are reused)."""
    registry = Registry(real_path)
    for home in unique_dirs(homes, real_path):
        real = real_path(home)
        folder = sessions_dir(home)
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            stem = entry.name.removesuffix(".json")
            if stem == entry.name or not (stem.isascii() and stem.isdigit()):
                continue
            raw = _load_entry(entry)
            if raw is None:
                continue
            pid = int(stem)
            sid = session_id(raw.get("sessionId"))
            if sid is None:
                registry.notes.append(f"{entry.path}: sessionId {str(raw.get('sessionId'))[:60]!r}"
                                      " is not a canonical session id; ignored")
            status, cwd = raw.get("status"), raw.get("cwd")
            registry.files[(real, pid)] = SessionFile(
                pid, sid, status if isinstance(status, str) else None,
                cwd if isinstance(cwd, str) else None)
            if sid is None:
                continue
            if alive(pid):
                registry.live.setdefault(sid, LiveSession(pid, sid, home))
            else:
                registry.stale[pid] = StaleSession(pid, sid, cwd if isinstance(cwd, str) else "")
    return registry


def transcripts(roots: Sequence[Path], cwds: Iterable[str],
                real_path: Real = os.path.realpath) -> dict[str, tuple[SessionId, ...]]:
    """Session ids with a transcript for each cwd, newest first, across ``roots`` (the
    homes and the shared dir, already one per real directory). Each root's ``projects``
    is resolved once (in every home it is a link to the shared one)."""
    found: dict[str, tuple[SessionId, ...]] = {}
    projects = list(dict.fromkeys(real_path(os.path.join(root, "projects")) for root in roots))
    for cwd in {c for c in cwds if c}:
        slug = project_slug(cwd)
        stamped: dict[SessionId, float] = {}
        for base in projects:
            try:
                entries = list(os.scandir(os.path.join(base, slug)))
            except OSError:
                continue
            for entry in entries:
                sid = session_id(entry.name.removesuffix(".jsonl"))
                if sid is None or not entry.name.endswith(".jsonl"):
                    continue
                try:
                    mtime = entry.stat().st_mtime
                except OSError:
                    continue
                stamped[sid] = max(mtime, stamped.get(sid, 0.0))
        if stamped:
            found[cwd] = tuple(sorted(stamped, key=lambda s: (-stamped[s], s)))
    return found
