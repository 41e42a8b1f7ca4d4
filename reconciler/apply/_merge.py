"""Merging a home's real directory into the shared dir without losing a byte.

On one filesystem every entry is renamed: a Claude appending through an open file
follows the inode, so nothing it writes is lost. Across filesystems (the shared dir on
another disk) a rename is impossible and a copy-then-delete would drop what is written
between the two; so each file is copied to a temporary name, compared byte for byte and
only then renamed into place, the source directory is renamed aside on its own
filesystem (never deleted), and a last pass copies what was written meanwhile. Clashes
go to the dated backup. The walk is iterative: a tree thousands of levels deep costs no
stack.
"""

from __future__ import annotations

import errno
import filecmp
import os
import shutil
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from reconciler.apply._errors import TransientError
from reconciler.statedir import DIR_MODE, make_private_parents

CROSS_DEVICE = errno.EXDEV


def free_name(path: Path) -> Path:
    """``path``, or ``path.1``, ``path.2`` ... whichever does not exist yet."""
    candidate, n = path, 0
    while os.path.lexists(candidate):
        n += 1
        candidate = path.with_name(f"{path.name}.{n}")
    return candidate


def rename_into(source: Path, dest: Path) -> bool:
    """Rename ``source`` to ``dest`` (parents made 0700); False when they are on two
    filesystems, for the caller to copy instead."""
    make_private_parents(dest.parent)
    try:
        source.rename(dest)
    except OSError as exc:
        if exc.errno == CROSS_DEVICE:
            return False
        raise
    return True


@dataclass
class _Merge:
    source: Path
    dest: Path
    backup: Path
    copied: dict[Path, os.stat_result] = field(default_factory=dict)
    """Destination files made by copying, with their stat right after: a later pass
    may refresh them only while nobody else has written them."""
    kept: bool = False
    """Something stayed in the source (a clash the backup could not take, a FIFO)."""

    def run(self) -> None:
        pending = [(self.source, self.dest, self.backup)]
        walked: list[Path] = []
        while pending:
            source, dest, backup = pending.pop()
            walked.append(source)
            for entry in sorted(os.scandir(source), key=lambda e: e.name):
                pending += self._one(Path(entry.path), dest / entry.name, backup / entry.name)
        for emptied in reversed(walked[1:]):  # children before their parents
            try:
                emptied.rmdir()
            except OSError:
                self.kept = True

    def _one(self, entry: Path, target: Path, backup: Path) -> list[tuple[Path, Path, Path]]:
        """Merge one entry; the directories still to walk."""
        mode = entry.lstat().st_mode
        if not os.path.lexists(target):
            if rename_into(entry, target):
                return []
            if stat.S_ISDIR(mode):
                target.mkdir(mode=stat.S_IMODE(mode) | 0o700)
                return [(entry, target, backup)]
            self._copy(entry, target, mode)
            return []
        if stat.S_ISDIR(mode) and not target.is_symlink() and target.is_dir():
            return [(entry, target, backup)]
        if not rename_into(entry, free_name(backup)):
            self.kept = True  # the backup is on another filesystem: it stays in the source
        return []

    def _copy(self, entry: Path, target: Path, mode: int) -> None:
        if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
            self.kept = True  # a FIFO or socket: reading it could block; it stays
            return
        copy_verified(entry, target)
        self.copied[target] = target.lstat()

    def catch_up(self, aside: Path) -> None:
        """After the source went aside: copy what was written into it meanwhile."""
        pending = [aside]
        while pending:
            folder = pending.pop()
            for entry in os.scandir(folder):
                path = Path(entry.path)
                target = self.dest / path.relative_to(aside)
                if entry.is_dir(follow_symlinks=False):
                    if not os.path.lexists(target):
                        target.mkdir(mode=DIR_MODE)
                    if target.is_dir() and not target.is_symlink():
                        pending.append(path)  # else a clash: it stays in the aside copy
                elif not os.path.lexists(target):
                    self._copy(path, target, entry.stat(follow_symlinks=False).st_mode)
                elif target in self.copied and _same(target.lstat(), self.copied[target]) \
                        and entry.is_file(follow_symlinks=False) \
                        and not filecmp.cmp(path, target, shallow=False):
                    copy_verified(path, target, replace=True)  # it grew meanwhile


def _same(now: os.stat_result, then: os.stat_result) -> bool:
    return (now.st_ino, now.st_size, now.st_mtime_ns) == (then.st_ino, then.st_size,
                                                          then.st_mtime_ns)


def _copy_is_prefix(copy: Path, source: Path) -> bool:
    """Every byte of ``copy`` is the source's, from its start: a transcript that grew
    while it was copied still verifies (the growth is caught up after the move aside);
    one rewritten in the middle does not."""
    chunk = 1 << 20
    with copy.open("rb") as mine, source.open("rb") as theirs:
        while block := mine.read(chunk):
            if theirs.read(len(block)) != block:
                return False
    return True


def copy_verified(source: Path, target: Path, *, replace: bool = False) -> None:
    """Copy to a temporary name, compare byte for byte, then rename into place; a file
    that keeps changing in the middle while it is copied is tried again next cycle."""
    temp = free_name(target.with_name(f".{target.name}.reconciler-copy"))
    for _ in range(3):
        if source.is_symlink():
            temp.symlink_to(source.readlink())
            break
        shutil.copy2(source, temp, follow_symlinks=False)
        if _copy_is_prefix(temp, source):
            break
        temp.unlink()  # our own half-made copy: the source still has every byte
    else:
        raise TransientError(f"{source} kept changing while it was copied; will try again")
    if not replace and os.path.lexists(target):
        raise TransientError(f"{target} appeared while {source} was copied; will try again")
    temp.replace(target)


def merge_tree(source: Path, dest: Path, backup: Path) -> Path | None:
    """Merge ``source`` into ``dest``; None when the source is gone (all renamed), else
    where it was moved aside (files were copied across filesystems)."""
    merge = _Merge(source, dest, backup)
    merge.run()
    if not merge.copied and not merge.kept:
        try:
            source.rmdir()
        except OSError as exc:
            if exc.errno in (errno.ENOTEMPTY, errno.EEXIST):
                raise TransientError(f"{source} got new files during the merge") from exc
            raise
        return None
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = free_name(source.with_name(f".{source.name}.reconciler-merged-{stamp}"))
    source.rename(aside)  # same directory, same filesystem: atomic, and nothing is lost
    merge.catch_up(aside)
    return aside
