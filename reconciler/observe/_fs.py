"""Path facts. Two readings, on purpose:

- ``link_fact`` (lstat) for paths the reconciler makes into links: the link itself,
  and each home entry. A link is reported with its target, never followed.
- ``dir_fact`` (stat) for directories that may legitimately be links themselves
  (homes, the shared dir and its entries, projects): a link to a directory is a DIR;
  a dangling link is LINK with its target, so the planner refuses to build on it.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from reconciler.observe._model import PathFact, PathKind

MAX_COUNT = 1_000_000


class RealPaths:
    """``os.path.realpath``, each distinct path resolved once per cycle: a cycle asks
    about the same few homes and scripts once per Claude, and each realpath is an lstat
    per component."""

    def __init__(self) -> None:
        self._memo: dict[str, str] = {}

    def __call__(self, path: str | os.PathLike[str]) -> str:
        key = os.fspath(path)
        found = self._memo.get(key)
        if found is None:
            found = self._memo[key] = os.path.realpath(key)
        return found


def _target(path: Path) -> Path:
    return Path(os.path.normpath(path.parent / path.readlink()))


def count_files(path: Path) -> int:
    """Files below ``path``, links not followed, up to MAX_COUNT: iterative, so a tree
    thousands of levels deep costs no stack; an unreadable directory counts as empty."""
    total = 0
    pending = [str(path)]
    while pending and total < MAX_COUNT:
        try:
            with os.scandir(pending.pop()) as listing:
                for entry in listing:
                    if entry.is_dir(follow_symlinks=False):
                        pending.append(entry.path)
                    else:
                        total += 1
        except OSError:
            continue
    return min(total, MAX_COUNT)


def _foreign(st: os.stat_result) -> int | None:
    return st.st_uid if st.st_uid != os.geteuid() else None


def link_fact(path: Path, *, count: bool = True) -> PathFact:
    try:
        st = path.lstat()
    except FileNotFoundError:
        return PathFact(path, PathKind.MISSING)
    except OSError:
        return PathFact(path, PathKind.FILE)
    if stat.S_ISLNK(st.st_mode):
        return PathFact(path, PathKind.LINK, _target(path))
    if stat.S_ISDIR(st.st_mode):
        return PathFact(path, PathKind.DIR, file_count=count_files(path) if count else 0)
    return PathFact(path, PathKind.FILE)


def dir_fact(path: Path) -> PathFact:
    try:
        st = path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return PathFact(path, PathKind.LINK, _target(path))
        return PathFact(path, PathKind.MISSING)
    except OSError:
        return PathFact(path, PathKind.FILE)
    if not stat.S_ISDIR(st.st_mode):
        return PathFact(path, PathKind.FILE)
    return PathFact(path, PathKind.DIR, foreign_owner=_foreign(st),
                    others_write=bool(st.st_mode & stat.S_IWOTH))
