"""Files in the state dir's own folders (``signals/events``, ``signals/status/<home>``...),
reached through a descriptor of each folder, never through a path.

The root is taken as the user named it (it may be a link they made on purpose), but every
folder below it is opened with ``O_NOFOLLOW|O_DIRECTORY`` and every file in it by name,
relative to that descriptor: a link planted in place of a folder or a file is never
followed, so nothing is read from, written into or deleted in the place it points at, and
a folder swapped for a link between two steps cannot redirect the second one."""

from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path

from reconciler.statedir._files import DIR_MODE, FILE_MODE, UnsafeStateError

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def check_name(name: str) -> str:
    """One name inside a folder: a record's name is built from outside data (a slug, an
    account in an old command line), so a ``/`` or ``..`` in it must not climb out."""
    if not name or name in (".", "..") or "/" in name or "\0" in name:
        raise OSError(errno.EINVAL, "not a plain file name", name)
    return name


def _refuse_link(fd: int, part: str, where: Path) -> None:
    """Say why a folder could not be opened, when the reason is a planted link."""
    with contextlib.suppress(OSError):
        if stat.S_ISLNK(os.lstat(part, dir_fd=fd).st_mode):
            raise UnsafeStateError(f"{where} is a symbolic link; the state dir never follows "
                                   "one (remove it if you did not make it)")


def _check_ours(fd: int, where: Path) -> None:
    st = os.fstat(fd)
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise UnsafeStateError(f"{where} is not a private folder of yours (uid {st.st_uid}, "
                               f"mode {stat.S_IMODE(st.st_mode):04o}); refusing to use it")


@contextlib.contextmanager
def folder(root: Path, parts: Sequence[str], *, create: bool = False) -> Iterator[int]:
    """A descriptor of ``root/parts...``, each part opened without following a link.

    Reading (``create`` off): a missing folder, a link or a file in its place raise
    OSError, which readers take as "nothing there". Writing: missing folders are made
    0700; a link in the way, or a folder not privately ours, raises UnsafeStateError."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        where = root
        for part in parts:
            where = where / check_name(part)
            if create:
                with contextlib.suppress(FileExistsError):
                    os.mkdir(part, DIR_MODE, dir_fd=fd)
            try:
                below = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError:
                if create:
                    _refuse_link(fd, part, where)
                raise
            os.close(fd)
            fd = below
            if create:
                _check_ours(fd, where)
        yield fd
    finally:
        os.close(fd)


def is_file_at(fd: int, name: str) -> bool:
    """A regular file by that name (a link by that name is not one)."""
    try:
        return stat.S_ISREG(os.stat(check_name(name), dir_fd=fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def write_at(fd: int, name: str, data: bytes, mode: int = FILE_MODE) -> None:
    """``write_atomic`` inside an opened folder: a temp file created beside (never through
    a link), fsynced, then renamed over ``name``; readers see the old file or the new."""
    tmp = f".{check_name(name)}.{secrets.token_hex(6)}.tmp"
    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                  FILE_MODE, dir_fd=fd)
    try:
        with os.fdopen(out, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
            os.fchmod(handle.fileno(), mode)
        os.rename(tmp, name, src_dir_fd=fd, dst_dir_fd=fd)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp, dir_fd=fd)
        raise


def unlink_at(fd: int, name: str) -> None:
    """The entry itself gone (a link is removed, never what it points at)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(check_name(name), dir_fd=fd)
