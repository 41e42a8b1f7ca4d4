"""What wakes the sleeping service: an edit of the desired file, an event in the signal
spool, a signal. inotify (``inotify_simple``) where the kernel gives it; a stat poll
every ``POLL`` seconds where it does not (no binding, no instances left, a filesystem
that refuses watches).

Directories are watched, not files: editors and ``reconcile swap`` save by renaming a
new file over the old one, which a watch on the old inode would miss. A directory that
does not exist yet (the spool before the first event) is awaited through its nearest
existing parent. Whatever wakes the service, the service still compares the file's
stat and the spool's names before it acts, so a spurious wake costs one stat.
"""

from __future__ import annotations

import contextlib
import os
import select
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

POLL = 0.2
"""Seconds between two stats when there is no inotify."""

# inotify(7) masks, as the kernel defines them (so the fallback needs no binding).
_MODIFY_DONE, _ATTRIB, _MOVED_FROM, _MOVED_TO = 0x008, 0x004, 0x040, 0x080
_CREATE, _DELETE, _OVERFLOW, _IGNORED = 0x100, 0x200, 0x4000, 0x8000
_ONLYDIR, _MASK_ADD = 0x01000000, 0x20000000
FILE_MASK = _MODIFY_DONE | _ATTRIB | _MOVED_FROM | _MOVED_TO | _DELETE
"""A saved file: closed after writing, renamed over, removed, its mode changed. Not its
creation: the file is empty then, and its closing comes next."""
SPOOL_MASK = _MODIFY_DONE | _MOVED_TO | _CREATE
PARENT_MASK = _CREATE | _MOVED_TO


@dataclass(frozen=True)
class Target:
    """One watched directory: the names in it that matter (None: any not hidden)."""

    folder: str
    names: frozenset[str] | None
    mask: int

    def merged(self, other: Target) -> Target:
        names = None if self.names is None or other.names is None else self.names | other.names
        return Target(self.folder, names, self.mask | other.mask)

    def wants(self, name: str) -> bool:
        if self.names is None:  # a spool: a hook writes ``.name`` and renames it when done
            return bool(name) and not name.startswith(".")
        return name in self.names


def targets(files: Iterable[Path], spools: Iterable[Path]) -> dict[str, Target]:
    """The directories to watch now, by path: each file's directory (and its link
    target's), each spool, or the nearest existing parent of a spool not made yet."""
    found: list[Target] = []
    for file in files:
        for path in {file.absolute(), file.resolve()}:
            found.append(Target(str(path.parent), frozenset({path.name}), FILE_MASK))
    for spool in spools:
        child, folder = "", spool.absolute()
        while not folder.is_dir() and folder.parent != folder:
            folder, child = folder.parent, folder.name
        found.append(Target(str(folder), None, SPOOL_MASK) if not child
                     else Target(str(folder), frozenset({child}), PARENT_MASK))
    out: dict[str, Target] = {}
    for target in found:
        out[target.folder] = out[target.folder].merged(target) if target.folder in out else target
    return out


def _inotify() -> Any:
    """An inotify instance, or None where there is none to have."""
    try:
        import inotify_simple  # noqa: PLC0415  (only the service sleeps)

        return inotify_simple.INotify()
    except (ImportError, OSError, AttributeError):
        return None


class Watcher:
    """Sleeps until something the service acts on may have changed. Open it before the
    loop checks its flags: a signal handler's ``wake`` then always ends the next wait."""

    def __init__(self, files: Sequence[Path], spools: Sequence[Path]) -> None:
        self.files = tuple(files)
        self.spools = tuple(spools)
        self._pipe: tuple[int, int] | None = None
        self._inotify: Any = None
        self._tried = False
        """inotify is opened by the first wait: ``run --once`` never sleeps."""
        self._watched: dict[int, Target] = {}
        self._by_folder: dict[str, Target] = {}

    @property
    def inotify(self) -> bool:
        return self._inotify is not None

    def open(self) -> Watcher:
        self._pipe = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        return self

    def close(self) -> None:
        if self._inotify is not None:
            self._inotify.close()
            self._inotify = None
        if self._pipe is not None:
            for fd in self._pipe:
                os.close(fd)
            self._pipe = None

    def wake(self) -> None:
        """Safe in a signal handler: one byte into a non-blocking pipe."""
        if self._pipe is not None:
            with contextlib.suppress(BlockingIOError, OSError):
                os.write(self._pipe[1], b"\0")

    def wait(self, timeout: float) -> None:
        """Return on a relevant change, a ``wake``, or after ``timeout`` seconds (at most
        ``POLL`` without inotify: the caller stats between two waits)."""
        if self._pipe is None:  # not opened: a plain poll
            time.sleep(min(POLL, max(0.0, timeout)))
            return
        if not self._tried:
            self._tried, self._inotify = True, _inotify()
        if self._inotify is not None and not self._arm():
            self._inotify.close()  # a watch was refused: poll, as without inotify
            self._inotify = None
        if self._inotify is None:
            self._select(self._pipe[0], min(POLL, timeout))
            return
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if (self._select(self._pipe[0], left) != "event"
                    or self._relevant(self._inotify.read(timeout=0))):
                return
            if not self._arm():  # a directory came or went; refused: the next wait polls
                return

    def _select(self, woken: int, timeout: float) -> str:
        """``woken`` (that pipe, drained), ``event`` (inotify has some) or ``timeout``."""
        fds = [woken] + ([self._inotify.fileno()] if self._inotify is not None else [])
        ready, _w, _x = select.select(fds, [], [], max(0.0, timeout))
        if woken in ready:
            with contextlib.suppress(BlockingIOError):
                while os.read(woken, 64):
                    pass
            return "woken"
        return "event" if ready else "timeout"

    def _arm(self) -> bool:
        """Watch every target directory as it is now; False when the kernel refuses. Two
        paths to one directory share a watch descriptor, so masks are added, not set."""
        for folder, target in targets(self.files, self.spools).items():
            if self._by_folder.get(folder) == target:
                continue
            try:
                wd = self._inotify.add_watch(folder, target.mask | _ONLYDIR | _MASK_ADD)
            except OSError:
                return False
            known = self._watched.get(wd)
            self._watched[wd] = known.merged(target) if known is not None else target
            self._by_folder[folder] = target
        return True

    def _relevant(self, events: Iterable[Any]) -> bool:
        woke = False
        for event in events:
            if event.mask & (_OVERFLOW | _IGNORED):  # lost events, or a directory gone
                if event.mask & _IGNORED:
                    self._watched.pop(event.wd, None)
                    self._by_folder.clear()  # armed again from scratch: cheap, and rare
                woke = True
                continue
            target = self._watched.get(event.wd)
            woke = woke or (target is not None and target.wants(event.name))
        return woke
