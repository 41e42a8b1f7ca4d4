"""The reconciler's own state directory: pane records, swap history, lock file.

Everything here is written atomically (temp file + rename) with mode 0600 in a
0700 directory, so a crash never leaves a half-written record.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from reconciler.claudecode import SessionId, session_id

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


def write_atomic(path: Path, data: bytes, mode: int = FILE_MODE, *, sync: bool = True) -> None:
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


@dataclass(frozen=True)
class LaunchRecord:
    """What the reconciler last did to one pane's Claude.

    ``pending_relaunch`` is set just before a Claude is stopped and cleared once
    it runs again, so a crash in between still relaunches the right session id.
    """

    target: str
    session_id: SessionId
    cwd: str
    account: str
    pending_relaunch: bool = False
    pid: int | None = None
    time: str = ""

    @classmethod
    def from_json(cls, raw: Any) -> LaunchRecord:
        """The record, or ValueError saying why it cannot be trusted."""
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")  # noqa: TRY004  (one error kind: "untrusted")
        sid = session_id(raw.get("session_id"))
        if sid is None:
            raise ValueError(f"session_id {str(raw.get('session_id'))[:60]!r} is not a "
                             "canonical session id")
        pid = raw.get("pid")
        if pid is not None and (not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0):
            raise ValueError(f"pid {pid!r} is not a process id")
        try:
            return cls(target=str(raw["target"]), session_id=sid, cwd=str(raw["cwd"]),
                       account=str(raw["account"]),
                       pending_relaunch=bool(raw.get("pending_relaunch", False)),
                       pid=pid, time=str(raw.get("time", "")))
        except KeyError as exc:
            raise ValueError(f"{exc.args[0]} is missing") from None


@dataclass(frozen=True)
class PromptRecord:
    """What a pane's shell shows on an empty command line, seen at a moment nothing could
    have been typed there (the session just created, or right after a Claude we stopped
    left while no client was attached). Valid only for that shell process."""

    target: str
    shell_pid: int
    prompt: str
    time: str = ""

    @classmethod
    def from_json(cls, raw: Any) -> PromptRecord:
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")  # noqa: TRY004  (one error kind: "untrusted")
        pid, prompt = raw.get("shell_pid"), raw.get("prompt")
        if not isinstance(pid, int) or isinstance(pid, bool) or not isinstance(prompt, str):
            raise ValueError("shell_pid or prompt is missing or of the wrong type")  # noqa: TRY004
        return cls(str(raw.get("target", "")), pid, prompt, str(raw.get("time", "")))


R = TypeVar("R", "LaunchRecord", "PromptRecord")


@dataclass(frozen=True)
class PaneBook:
    """Everything the state dir remembers about panes, read in one go."""

    launches: dict[str, LaunchRecord] = field(default_factory=dict)
    prompts: dict[str, PromptRecord] = field(default_factory=dict)
    created: frozenset[str] = frozenset()
    """Session names the autonomous pool created (it may shrink only those)."""
    ignored: tuple[str, ...] = ()
    """Records that could not be trusted, with the reason, for the user to see."""


class StateDir:
    """Paths and records under one state directory."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def panes_path(self) -> Path:
        return self.root / "panes.json"

    @property
    def lock_path(self) -> Path:
        return self.root / "lock"

    @property
    def _old_records_dir(self) -> Path:
        """Where records lived before ``panes.json``: read when that file is missing."""
        return self.root / "launches"

    def read_panes(self) -> PaneBook:
        raw = read_json(self.panes_path)
        if not isinstance(raw, dict):
            raw = {"launches": self._old_records()} if not self.panes_path.exists() else {}
        ignored: list[str] = []
        launches = self._section(raw, "launches", LaunchRecord.from_json, ignored)
        prompts = self._section(raw, "prompts", PromptRecord.from_json, ignored)
        created = raw.get("created")
        names = frozenset(n for n in created if isinstance(n, str)) if isinstance(
            created, list) else frozenset()
        return PaneBook(launches, prompts, names, tuple(ignored))

    def _section(self, raw: dict[str, Any], kind: str, build: Callable[[Any], R],
                 ignored: list[str]) -> dict[str, R]:
        """The records of one section by target; the ones that cannot be trusted are
        left out, and ``ignored`` says which and why."""
        out: dict[str, R] = {}
        section = raw.get(kind)
        for target, item in (section.items() if isinstance(section, dict) else ()):
            try:
                out[str(target)] = replace(build(item), target=str(target))
            except ValueError as exc:
                ignored.append(f"{self.panes_path}: {kind}[{target!r}] ignored: {exc}")
        return out

    def _old_records(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        with contextlib.suppress(OSError):
            for path in sorted(self._old_records_dir.glob("*.json")):
                raw = read_json(path)
                if isinstance(raw, dict) and isinstance(raw.get("target"), str):
                    found[raw["target"]] = raw
        return found

    def update_panes(
        self,
        *,
        launches: Iterable[LaunchRecord] = (),
        prompts: Iterable[PromptRecord] = (),
        created: Iterable[str] = (),
        forget_sessions: Iterable[str] = (),
    ) -> None:
        """One atomic, fsynced write for a whole batch of records.

        ``forget_sessions`` first drops what was known of those sessions' panes (their
        shells are gone) and the pool's claim on those names; then the new records land.
        """
        book = self.read_panes()
        gone = set(forget_sessions)
        kept = {t: p for t, p in book.prompts.items() if t.rsplit("/", 1)[0] not in gone}
        new_prompts = {**kept, **{p.target: p for p in prompts}}
        new_launches = {**book.launches, **{r.target: r for r in launches}}
        names = (set(book.created) - gone) | set(created)
        ensure_private_dir(self.root)
        write_json(self.panes_path, {
            "launches": {t: asdict(r) for t, r in sorted(new_launches.items())},
            "prompts": {t: asdict(p) for t, p in sorted(new_prompts.items())},
            "created": sorted(names),
        })

    @property
    def service_path(self) -> Path:
        return self.root / "service.json"

    def write_service(self, status: Mapping[str, Any]) -> None:
        """The running service's pid and last cycle; advisory, so not fsynced."""
        ensure_private_dir(self.root)
        write_atomic(self.service_path, (json.dumps(dict(status)) + "\n").encode(), sync=False)

    def read_service(self) -> dict[str, Any] | None:
        raw = read_json(self.service_path)
        return raw if isinstance(raw, dict) else None

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
