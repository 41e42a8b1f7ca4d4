"""Editing a JSON file that belongs to Claude (``settings.json``, ``.claude.json``).

Claude and the person both write these files, so an edit changes only the keys it
means to: the rest keeps its order, its indentation, its non-ASCII characters and the
file's trailing newline; a number JSON cannot hold exactly (``1e400``) makes the file
too risky to rewrite, and it is left alone. A symlinked file (a dotfiles checkout, or
one settings file shared by two homes) is edited where it really is and the link
stays. Every edit happens under Claude's own lock (``<realpath>.lock``, a directory,
the way proper-lockfile makes it), so a Claude writing at the same moment waits for
us or we for it.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from reconciler.apply._errors import ActionError, TransientError
from reconciler.statedir import ChangedUnderUsError, file_identity, read_regular, write_atomic

LOCK_STALE = 10.0
LOCK_WAIT = 5.0
_INDENT = re.compile(r"\n([ \t]+)\S")


@contextlib.contextmanager
def claude_lock(path: Path) -> Iterator[None]:
    """Claude's lock on ``path``: the directory ``<realpath>.lock``; one older than 10 s
    is stale (its holder died), as proper-lockfile decides."""
    lock = Path(str(path.resolve()) + ".lock")
    deadline = time.monotonic() + LOCK_WAIT
    while True:
        try:
            lock.mkdir()
            break
        except FileExistsError:
            with contextlib.suppress(OSError):
                if time.time() - lock.stat().st_mtime > LOCK_STALE:
                    lock.rmdir()
                    continue
            if time.monotonic() > deadline:
                raise TransientError(f"{path} is locked by Claude ({lock})") from None
            time.sleep(0.05)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock.rmdir()


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text} does not fit a double")
    return value


def _constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _layout(text: str) -> tuple[str | int | None, str]:
    """(indent, end) as the file has them: the first indented line's whitespace (tabs
    kept), or None for a one-line file; the trailing newline or none."""
    found = _INDENT.search(text)
    indent: str | int | None = None if "\n" not in text.strip() else 2
    if found:
        indent = found.group(1)
    return indent, "\n" if text.endswith("\n") else ""


EDIT_TRIES = 5


def edit_json(path: Path, change: Callable[[dict[str, Any]], bool], mode: int = 0o600) -> bool:
    """Read, change and write back a JSON object file under Claude's lock; True when
    ``change`` changed something. A broken or risky file is an error, left as it is.

    Only what was read is written over: an editor that saves by rename takes no lock, so
    a file replaced between our read and our rename is read again and changed again
    (a few times at most), never overwritten with our older copy."""
    real = path.resolve() if path.is_symlink() else path
    for _ in range(EDIT_TRIES):
        try:
            return _edit_once(path, real, change, mode)
        except ChangedUnderUsError:
            time.sleep(0.05)
    raise TransientError(f"{path} kept changing while it was being edited; left as it is")


def _edit_once(path: Path, real: Path, change: Callable[[dict[str, Any]], bool],
               mode: int) -> bool:
    with claude_lock(real):
        seen = file_identity(real)
        try:
            text = read_regular(real).decode("utf-8")
            mode = real.stat().st_mode & 0o7777
        except FileNotFoundError:
            text = ""
        except (OSError, UnicodeDecodeError) as exc:
            raise ActionError(f"{path} cannot be read ({exc}); left alone") from exc
        try:
            current = json.loads(text, parse_float=_finite, parse_constant=_constant) \
                if text.strip() else {}
        except (ValueError, RecursionError) as exc:
            raise ActionError(f"{path} is not JSON this tool can rewrite exactly ({exc}); "
                              "left alone") from exc
        if not isinstance(current, dict):
            raise ActionError(f"{path} is not a JSON object; left alone")
        if not change(current):
            return False
        indent, end = _layout(text) if text.strip() else (2, "\n")
        body = json.dumps(current, indent=indent, ensure_ascii=False)
        write_atomic(real, (body + end).encode("utf-8"), mode=mode, expect=seen)
        return True
