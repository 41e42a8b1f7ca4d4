"""Atomic, private files: every write is temp file + fsync + rename, mode 0600 in a
0700 directory, so a crash never leaves half a record and no other user reads one.

A state dir another user owns, or others may write, is refused (they could plant a
record or a link); every read and append opens with ``O_NOFOLLOW``, so a symlink planted
as ``lock`` or ``swaps.jsonl`` is never followed, and ``O_NONBLOCK``, so a FIFO planted
there never hangs a reader."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import stat
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from reconciler.errors import ReconcilerError

DIR_MODE = 0o700
FILE_MODE = 0o600


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class UnsafeStateError(ReconcilerError):
    """The state dir, or a file in it, is not safely ours: nothing was read or written."""


def check_private_dir(path: Path) -> None:
    """Refuse a directory another user owns or group/others may write (missing is fine)."""
    try:
        st = path.stat()
    except FileNotFoundError:
        return
    if not stat.S_ISDIR(st.st_mode):
        raise UnsafeStateError(f"state dir {path} is not a directory")
    if st.st_uid != os.geteuid():
        raise UnsafeStateError(f"state dir {path} is owned by uid {st.st_uid}, not by you "
                               f"(uid {os.geteuid()}); refusing to use it")
    if st.st_mode & 0o022:
        raise UnsafeStateError(
            f"state dir {path} is writable by group or others (mode "
            f"{stat.S_IMODE(st.st_mode):04o}): anyone could plant a record or a link there; "
            f"refusing to use it. If it is yours: chmod 700 {path}")


def ensure_private_dir(path: Path) -> Path:
    """The directory, made 0700 if it is new; an existing one must already be safe."""
    try:
        path.mkdir(parents=True, mode=DIR_MODE)
    except FileExistsError:
        check_private_dir(path)
        return path
    with contextlib.suppress(PermissionError):
        path.chmod(DIR_MODE)
    return path


def _unsafe(path: Path, exc: OSError) -> OSError | UnsafeStateError:
    if exc.errno == errno.ELOOP:
        return UnsafeStateError(f"{path} is a symbolic link; the state dir never follows "
                                "one (remove it if you did not make it)")
    return exc


def read_private(path: Path) -> bytes:
    """A state file's bytes: no link followed, no FIFO waited on (OSError otherwise)."""
    return read_regular(path, follow_links=False)


FileIdentity = tuple[int, int, int]
"""(inode, size, mtime in ns): a file replaced by a rename, or written in place, reads
as another file; the same identity is the same bytes, so a parse can be kept."""


def file_identity(path: str | os.PathLike[str]) -> FileIdentity | None:
    """The file's identity now (links followed), or None when it cannot be stat'ed."""
    try:
        st = Path(path).stat()
    except OSError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def read_regular(path: str | os.PathLike[str], limit: int = -1, *,
                 tail: bool = False, follow_links: bool = True,
                 dir_fd: int | None = None) -> bytes:
    """A user's file (Claude's settings, registry, transcripts): links followed (unless
    ``follow_links`` is off, as for the state dir's own), but a FIFO or device is never
    waited on (OSError instead), so a planted FIFO cannot hang a cycle. ``limit`` bytes
    at most, from the end with ``tail``; ``path`` relative to ``dir_fd`` when given (a
    state folder opened without following links, see ``_below``)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY
    fd = os.open(path, flags if follow_links else flags | os.O_NOFOLLOW, dir_fd=dir_fd)
    with os.fdopen(fd, "rb") as handle:
        st = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, "not a regular file", str(path))
        if limit < 0:
            return handle.read()
        if tail:
            handle.seek(max(0, st.st_size - limit))
        # read(limit) takes the limit's room at once, however small the file: read its
        # size as it is, and a byte more to see whether it grew (then the rest)
        first = min(limit, st.st_size + 1)
        data = handle.read(first)
        if len(data) < first or first == limit:
            return data
        return data + handle.read(limit - first)


def move_aside(path: Path, tag: str = "bak") -> Path:
    """Give the user's file ``path`` a new, unused name beside it (``<name>.<stamp>.<tag>``,
    then ``-1``, ``-2``...) and return it. A hard link then the old name's removal: the
    new name is taken atomically, so an older backup of the same second is never
    overwritten, and the bytes are never copied."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    for count in range(1000):
        aside = path.with_name(f"{path.name}.{stamp}{f'-{count}' if count else ''}.{tag}")
        try:
            os.link(path, aside, follow_symlinks=False)
        except FileExistsError:
            continue
        path.unlink()
        return aside
    raise OSError(errno.EEXIST, "no free name to move it aside", str(path))


def open_private(path: Path, flags: int) -> int:
    """``os.open`` for a state file we write: created 0600, never through a link."""
    try:
        return os.open(path, flags | os.O_NOFOLLOW | os.O_CLOEXEC, FILE_MODE)
    except OSError as exc:
        raise _unsafe(path, exc) from None


def append_line(path: Path, line: str) -> None:
    """One line appended to a journal (``swaps.jsonl``): one write, never via a link."""
    fd = open_private(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    with os.fdopen(fd, "a") as handle:
        handle.write(line + "\n")


def make_private_parents(folder: Path) -> None:
    """Create ``folder`` and any missing parent 0700, whatever the umask; directories
    that exist keep their permissions (one may be the user's project)."""
    missing: list[Path] = []
    while not folder.exists():
        missing.append(folder)
        if folder.parent == folder:
            break
        folder = folder.parent
    for created in reversed(missing):
        created.mkdir(mode=DIR_MODE, exist_ok=True)
        with contextlib.suppress(PermissionError):
            created.chmod(DIR_MODE)


class ChangedUnderUsError(OSError):
    """The file is not the one that was read: someone saved it since (no rename done)."""


def _still(path: Path, expect: FileIdentity | bool | None) -> None:
    if expect is not False and file_identity(path) != expect:
        raise ChangedUnderUsError(f"{path} changed while it was being rewritten")


def write_atomic(path: Path, data: bytes, mode: int = FILE_MODE, *, sync: bool = True,
                 expect: FileIdentity | bool | None = False) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never half.

    A missing parent is created private; an existing one keeps its permissions
    (it may be the user's project or config dir). ``expect``: the identity of the file
    as it was read (None: there was none); when the file is another one by the time the
    new bytes are ready (an editor saved it by rename), nothing is renamed over it and
    ``ChangedUnderUsError`` says so.
    """
    make_private_parents(path.parent)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if sync:
                os.fsync(handle.fileno())
        Path(tmp).chmod(mode)
        _still(path, expect)
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            Path(tmp).unlink()
        raise


def write_json(path: Path, value: Any) -> None:
    write_atomic(path, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode())


def read_json(path: Path) -> Any:
    """The parsed file, or None when it is missing or unreadable (a record is advisory)."""
    try:
        return json.loads(read_private(path))
    except (OSError, ValueError, RecursionError):
        return None
