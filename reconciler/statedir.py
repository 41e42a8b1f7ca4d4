"""The reconciler's own state directory: launch records, history, lock file.

Everything here is written atomically (temp file + rename) with mode 0600 in a
0700 directory, so a crash never leaves a half-written record.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
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


def write_atomic(path: Path, data: bytes, mode: int = FILE_MODE) -> None:
    """Write ``data`` to ``path`` so readers see the old or the new file, never half.

    A missing parent is created private; an existing one keeps its permissions
    (it may be the user's project or config dir).
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
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


@dataclass(frozen=True)
class LaunchRecord:
    """What the reconciler last did to one pane's Claude.

    ``pending_relaunch`` is set just before a Claude is stopped and cleared once
    it runs again, so a crash in between still relaunches the right session id.
    """

    target: str
    session_id: str
    cwd: str
    account: str
    pending_relaunch: bool = False
    pid: int | None = None
    time: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, raw: Any) -> LaunchRecord | None:
        if not isinstance(raw, dict):
            return None
        try:
            return cls(
                target=str(raw["target"]),
                session_id=str(raw["session_id"]),
                cwd=str(raw["cwd"]),
                account=str(raw["account"]),
                pending_relaunch=bool(raw.get("pending_relaunch", False)),
                pid=int(raw["pid"]) if raw.get("pid") is not None else None,
                time=str(raw.get("time", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None


class StateDir:
    """Paths and records under one state directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def records_dir(self) -> Path:
        return self.root / "launches"

    @property
    def lock_path(self) -> Path:
        return self.root / "lock"

    def record_path(self, target: str) -> Path:
        return self.records_dir / f"{target.replace('/', '@')}.json"

    def read_records(self) -> dict[str, LaunchRecord]:
        records: dict[str, LaunchRecord] = {}
        try:
            paths = sorted(self.records_dir.glob("*.json"))
        except OSError:
            return records
        for path in paths:
            record = LaunchRecord.from_json(read_json(path))
            if record is not None:
                records[record.target] = record
        return records

    @property
    def swaps_path(self) -> Path:
        return self.root / "swaps.jsonl"

    def append_swap(self, previous: str, account: str, reason: str) -> None:
        """One line per swap, whoever made it (hand, command, failover)."""
        ensure_private_dir(self.root)
        line = json.dumps({"time": now_iso(), "from": previous, "to": account, "reason": reason})
        fd = os.open(self.swaps_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, FILE_MODE)
        with os.fdopen(fd, "a") as handle:
            handle.write(line + "\n")

    def read_swaps(self, last: int = 10) -> list[dict[str, Any]]:
        try:
            lines = self.swaps_path.read_text().splitlines()
        except OSError:
            return []
        swaps = []
        for line in lines[-last:]:
            try:
                swaps.append(json.loads(line))
            except ValueError:
                continue
        return swaps

    def write_record(self, record: LaunchRecord) -> None:
        ensure_private_dir(self.root)
        raw = asdict(record)
        raw.pop("extra", None)
        write_json(self.record_path(record.target), raw)
