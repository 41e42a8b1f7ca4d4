"""Atomic, private files: every write is temp file + fsync + rename, mode 0600 in a
0700 directory, so a crash never leaves half a record and no other user reads one."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

DIR_MODE = 0o700
FILE_MODE = 0o600


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    xdg = env.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path(env.get("HOME", "~")).expanduser() / ".local" / "state"
    return base / "reconciler"


def ensure_private_dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    with contextlib.suppress(PermissionError):
        path.chmod(DIR_MODE)
    return path


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


def write_atomic(path: Path, data: bytes, mode: int = FILE_MODE, *, sync: bool = True) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never half.

    A missing parent is created private; an existing one keeps its permissions
    (it may be the user's project or config dir).
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
        return json.loads(path.read_bytes())
    except (OSError, ValueError):
        return None
