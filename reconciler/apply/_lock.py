"""One apply at a time per state dir: an flock that dies with its holder."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from reconciler.statedir import ensure_private_dir, open_private, read_private


class LockTimeoutError(Exception):
    """Another reconciler holds the state dir and did not let go in time."""


def _holder(path: Path) -> str:
    with contextlib.suppress(OSError):
        pid = read_private(path).decode(errors="replace").strip()
        if pid:
            return f"pid {pid}"
    return "another process"


@contextlib.contextmanager
def state_lock(
    path: Path,
    *,
    timeout: float | None = None,
    on_wait: Callable[[str], None] | None = None,
    poll: float = 0.05,
) -> Iterator[None]:
    """Hold the lock file ``path`` (the state dir names it); wait up to ``timeout`` s
    (None = forever), saying why once."""
    ensure_private_dir(path.parent)
    fd = open_private(path, os.O_RDWR | os.O_CREAT)
    try:
        deadline = None if timeout is None else time.monotonic() + timeout
        told = False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(path)
                if deadline is not None and time.monotonic() >= deadline:
                    raise LockTimeoutError(
                        f"{path} is held by {holder}; gave up after {timeout:g}s"
                    ) from None
                if not told and on_wait is not None:
                    on_wait(f"waiting for {path}, held by {holder}")
                    told = True
                time.sleep(poll)
        with contextlib.suppress(OSError):  # the pid only helps the message; a full disk
            os.ftruncate(fd, 0)              # must not stop the reconciler
            os.write(fd, str(os.getpid()).encode())
        yield
    finally:
        os.close(fd)
