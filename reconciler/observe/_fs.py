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


def _target(path: Path) -> Path:
    return Path(os.path.normpath(path.parent / path.readlink()))


def count_files(path: Path) -> int:
    total = 0
    for _root, _dirs, files in os.walk(path, followlinks=False):
        total += len(files)
        if total >= MAX_COUNT:
            break
    return total


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
    return PathFact(path, PathKind.DIR if stat.S_ISDIR(st.st_mode) else PathKind.FILE)
