"""StateDir: every file of the state dir, its name, its mode and its atomic write.

No other module names a file in here; each asks for the record it needs.

    panes.json      launch records, learned prompts, sessions the pool created
    active.json     who is active, since when, and why
    swaps.jsonl     every swap, one line each;  moves.jsonl: the Claudes each apply moved
    converged.json  the last clean converge (drift is measured from it)
    limits.json     known usage limits;  preempt-off.json: limits the user cleared
    usage.json      each account's last usage reading (the usage endpoint, the status line)
    segment.txt     the active account, its use and limit: for `status --format tmux`
    desired.last-valid  the desired file as it last loaded (secrets redacted): status shows
                    it while an edit is broken
    launch/         launch.env for a launch line, 0600, removed as the line reads it
    alerts.json     what is firing
    crashloops.json launches in back-off
    service.json    the running service: pid, start, cycles
    service.log     the service's own log outside systemd (rotated: .1 .. .3, 1 MiB each)
    lock            one apply at a time;  service.lock: one service at a time
    signals/        what Claude's hook and status line write (``reconciler.signals``)
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from reconciler.statedir._below import folder, unlink_at, write_at
from reconciler.statedir._files import (
    FileIdentity,
    UnsafeStateError,
    append_line,
    check_private_dir,
    ensure_private_dir,
    file_identity,
    now_iso,
    read_json,
    read_private,
    write_atomic,
)
from reconciler.statedir._records import (
    ActiveRecord,
    Converged,
    CrashRecord,
    LaunchRecord,
    LimitRecord,
    PaneBook,
    PromptRecord,
    TurnWait,
    UsageRecord,
)

R = TypeVar("R", LaunchRecord, PromptRecord, TurnWait)
AUTOMATIC = frozenset({"limit", "preempt", "return"})


class StateDir:
    """Paths and records under one state directory (its ``signals/`` folder belongs to
    ``reconciler.signals``)."""

    def __init__(self, root: Path) -> None:
        check_private_dir(root)
        self.root = root
        self._book: tuple[FileIdentity, PaneBook] | None = None
        """The last ``panes.json`` read, by (inode, size, mtime): every write replaces
        the file, so an unchanged identity is an unchanged book (the service reads it
        at every cycle)."""
        self._written: dict[str, tuple[FileIdentity | None, bytes]] = {}
        """What this instance last wrote to each file, and the file's identity then: a
        record written again unchanged (the service's limits, evidence and back-offs,
        every cycle) is left alone, not rewritten and fsynced."""

    def _path(self, name: str) -> Path:
        return self.root / name

    @property
    def lock_path(self) -> Path:
        return self._path("lock")

    @property
    def service_lock_path(self) -> Path:
        return self._path("service.lock")

    @property
    def limits_path(self) -> Path:
        """Known limits: the service wakes when someone else changes them (``limits clear``)."""
        return self._path("limits.json")

    @property
    def log_path(self) -> Path:
        """The service's log outside systemd; the logging module rotates it."""
        return self._path("service.log")

    def _write(self, name: str, value: Any, *, sync: bool = True) -> None:
        data = (json.dumps(value, indent=2, sort_keys=True) if sync else json.dumps(value))
        self._write_bytes(name, (data + "\n").encode(), sync=sync)

    def _write_bytes(self, name: str, encoded: bytes, *, sync: bool = True) -> None:
        path = self._path(name)
        if self._written.get(name) == (file_identity(path), encoded):
            return
        ensure_private_dir(self.root)
        write_atomic(path, encoded, sync=sync)
        self._written[name] = (file_identity(path), encoded)

    # -- panes -----------------------------------------------------------------------

    def read_panes(self) -> PaneBook:
        path = self._path("panes.json")
        identity = file_identity(path)
        if identity is not None and self._book is not None and self._book[0] == identity:
            book = self._book[1]
            return replace(book, launches=dict(book.launches), prompts=dict(book.prompts),
                           waits=dict(book.waits))
        book = self._read_panes(path)
        self._book = (identity, book) if identity is not None else None
        return replace(book, launches=dict(book.launches), prompts=dict(book.prompts),
                       waits=dict(book.waits))

    def _read_panes(self, path: Path) -> PaneBook:
        raw = read_json(path)
        if not isinstance(raw, dict):
            raw = {"launches": self._old_records()} if not path.exists() else {}
        ignored: list[str] = []
        launches = self._section(raw, "launches", LaunchRecord.from_json, ignored)
        prompts = self._section(raw, "prompts", PromptRecord.from_json, ignored)
        waits = self._section(raw, "waits", TurnWait.from_json, ignored)
        created = raw.get("created")
        names = frozenset(n for n in created if isinstance(n, str)) if isinstance(
            created, list) else frozenset()
        return PaneBook(launches, prompts, waits, names, tuple(ignored))

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
                ignored.append(f"{self._path('panes.json')}: {kind}[{target!r}] ignored: {exc}")
        return out

    def _old_records(self) -> dict[str, Any]:
        """Records from before ``panes.json`` (one file per pane under ``launches/``)."""
        found: dict[str, Any] = {}
        with contextlib.suppress(OSError):
            for path in sorted(self._path("launches").glob("*.json")):
                raw = read_json(path)
                if isinstance(raw, dict) and isinstance(raw.get("target"), str):
                    found[raw["target"]] = raw
        return found

    def update_panes(
        self,
        *,
        launches: Iterable[LaunchRecord] = (),
        prompts: Iterable[PromptRecord] = (),
        waits: Iterable[TurnWait] = (),
        created: Iterable[str] = (),
        forget_sessions: Iterable[str] = (),
    ) -> None:
        """One atomic, fsynced write for a whole batch of records.

        ``forget_sessions`` first drops what was known of those sessions' panes (their
        shells are gone) and the pool's claim on those names; then the new records land.
        A launch record ends the turn wait of its pane (the Claude it waited for moves).
        """
        book = self.read_panes()
        gone = set(forget_sessions)
        kept = {t: p for t, p in book.prompts.items() if t.rsplit("/", 1)[0] not in gone}
        new_prompts = {**kept, **{p.target: p for p in prompts}}
        new_launches = {**book.launches, **{r.target: r for r in launches}}
        launched = {r.target for r in launches}
        new_waits = {t: w for t, w in book.waits.items()
                     if t not in launched and t.rsplit("/", 1)[0] not in gone}
        new_waits.update({w.target: w for w in waits})
        names = (set(book.created) - gone) | set(created)
        self._write("panes.json", {
            "launches": {t: asdict(r) for t, r in sorted(new_launches.items())},
            "prompts": {t: asdict(p) for t, p in sorted(new_prompts.items())},
            "waits": {t: asdict(w) for t, w in sorted(new_waits.items())},
            "created": sorted(names),
        })

    # -- who is active ---------------------------------------------------------------

    def read_active(self) -> ActiveRecord | None:
        return ActiveRecord.from_json(read_json(self._path("active.json")))

    def record_swap(self, previous: str, account: str, reason: str, *,
                    now: bool = False) -> None:
        """A swap, whoever made it: one line in the history, and the active record.
        ``now``: its moves cut turns rather than wait for them (``swap --now``)."""
        ensure_private_dir(self.root)
        stamp = now_iso()
        line = json.dumps({"time": stamp, "from": previous, "to": account, "reason": reason,
                           **({"now": True} if now else {})})
        append_line(self._path("swaps.jsonl"), line)
        old = self.read_active()
        automatic = stamp if reason in AUTOMATIC else (old.last_automatic if old else None)
        self._write("active.json", asdict(ActiveRecord(account, stamp, reason, automatic, now)))

    def forget_cooldown(self) -> None:
        """A person cleared a limit: the next automatic swap (the return) need not wait
        for the cooldown of the last one."""
        record = self.read_active()
        if record is not None and record.last_automatic is not None:
            self._write("active.json", asdict(replace(record, last_automatic=None)))

    def cut_turns_now(self, account: str) -> None:
        """``swap --now`` onto the account already active: the moves still waiting for
        their turns go at once."""
        record = self.read_active()
        if record is not None and record.account == account and not record.now:
            self._write("active.json", asdict(replace(record, now=True)))

    def settle_active(self, account: str) -> str | None:
        """The desired file names ``account``: record it. ``swap`` and failover record
        their swaps themselves, so any other change was an edit by hand; the account it
        replaced is returned then."""
        record = self.read_active()
        if record is None:
            self._write("active.json", asdict(ActiveRecord(account, now_iso(), "initial")))
        elif record.account != account:
            self.record_swap(record.account, account, "hand")
            return record.account
        return None

    def check_writable(self) -> None:
        """Before a change that must then be recorded (a swap): the dir is safe, and no
        journal is a planted link, so the record cannot fail after the change."""
        ensure_private_dir(self.root)
        for name in ("swaps.jsonl", "active.json", "limits-history.jsonl", "lock"):
            if self._path(name).is_symlink():
                raise UnsafeStateError(f"{self._path(name)} is a symbolic link; the state dir "
                                       "never follows one (remove it if you did not make it)")

    def _tail(self, name: str, last: int) -> list[dict[str, Any]]:
        """The last ``last`` records of a journal; a line that is not one is skipped."""
        try:
            lines = read_private(self._path(name)).decode(errors="replace").splitlines()
        except OSError:
            return []
        out = []
        for line in lines[-last:]:
            with contextlib.suppress(ValueError, RecursionError):
                item = json.loads(line)
                if isinstance(item, dict):
                    out.append(item)
        return out

    def record_moves(self, account: str, moved: int, continued: int) -> None:
        """Claudes moved onto ``account`` by one apply, and how many cut turns their first
        message continued (``moves.jsonl``): counted into the swap that asked for them."""
        ensure_private_dir(self.root)
        append_line(self._path("moves.jsonl"), json.dumps(
            {"time": now_iso(), "to": account, "moved": moved, "continued": continued}))

    def read_swaps(self, last: int = 10) -> list[dict[str, Any]]:
        """The last swaps, oldest first, each with the Claudes moved onto its account
        since (``moved``) and the cut turns their first message continued."""
        swaps = [{**s, "moved": 0, "continued": 0} for s in self._tail("swaps.jsonl", last)]
        for move in self._tail("moves.jsonl", 20 * last):
            when = str(move.get("time", ""))
            owner = next((s for s in reversed(swaps) if str(s.get("time", "")) <= when), None)
            if owner is None or owner.get("to") != move.get("to"):
                continue
            for key in ("moved", "continued"):
                count = move.get(key)
                owner[key] += count if isinstance(count, int) and count > 0 else 0
        return swaps

    def count_swaps(self) -> int:
        try:
            return read_private(self._path("swaps.jsonl")).count(b"\n")
        except OSError:
            return 0

    # -- converge, limits, alerts, crash loops, the service ----------------------------

    def read_converged(self) -> Converged | None:
        return Converged.from_json(read_json(self._path("converged.json")))

    def write_converged(self, digest: str, active_account: str) -> None:
        self._write("converged.json", asdict(Converged(digest, now_iso(), active_account)))

    def read_limits(self) -> dict[str, LimitRecord]:
        raw = read_json(self.limits_path)
        limits: dict[str, LimitRecord] = {}
        for name, item in (raw.items() if isinstance(raw, dict) else ()):
            try:
                limits[str(name)] = LimitRecord.from_json(item)
            except (KeyError, TypeError, ValueError):
                continue
        return limits

    def write_limits(self, limits: Mapping[str, LimitRecord]) -> None:
        self._write("limits.json", {n: lim.to_json() for n, lim in sorted(limits.items())})

    def read_alerts(self) -> dict[str, dict[str, str]]:
        raw = read_json(self._path("alerts.json"))
        if not isinstance(raw, dict):
            return {}
        return {str(kind): {str(s): str(m) for s, m in subjects.items()}
                for kind, subjects in raw.items() if isinstance(subjects, dict)}

    def write_alerts(self, firing: Mapping[str, Mapping[str, str]]) -> None:
        self._write("alerts.json", {k: dict(v) for k, v in firing.items()})

    def read_crashloops(self) -> dict[str, CrashRecord]:
        raw = read_json(self._path("crashloops.json"))
        return {str(t): r for t, item in (raw.items() if isinstance(raw, dict) else ())
                if (r := CrashRecord.from_json(item)) is not None}

    def write_crashloops(self, states: Mapping[str, CrashRecord]) -> None:
        self._write("crashloops.json", {t: asdict(s) for t, s in states.items()})

    def read_preempt_off(self) -> dict[str, datetime]:
        """Accounts whose limit the user cleared: preempt leaves them be until then."""
        raw = read_json(self._path("preempt-off.json"))
        off: dict[str, datetime] = {}
        for name, until in (raw.items() if isinstance(raw, dict) else ()):
            with contextlib.suppress(TypeError, ValueError):
                off[str(name)] = datetime.fromisoformat(str(until))
        return {n: u for n, u in off.items() if u.tzinfo is not None}

    def write_preempt_off(self, off: Mapping[str, datetime]) -> None:
        self._write("preempt-off.json", {n: u.isoformat() for n, u in sorted(off.items())})

    def read_usage_records(self) -> dict[str, UsageRecord]:
        """Each account's last usage reading (``usage.json``), as the poller left it."""
        raw = read_json(self._path("usage.json"))
        found = (UsageRecord.from_json(item) for item in
                 (raw.values() if isinstance(raw, dict) else ()))
        return {r.account: r for r in found if r is not None}

    def write_usage_records(self, records: Mapping[str, UsageRecord]) -> None:
        self._write("usage.json", {n: r.to_json() for n, r in sorted(records.items())},
                    sync=False)

    def read_evidence(self) -> dict[str, str]:
        """Limit evidence already counted (key -> when), so a statement counts once."""
        raw = read_json(self._path("evidence.json"))
        return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}

    def write_evidence(self, seen: Mapping[str, str]) -> None:
        self._write("evidence.json", dict(sorted(seen.items())))

    def record_limit_event(self, event: Mapping[str, Any]) -> None:
        """The limits' history: detected, cleared, reset, imported; one line each."""
        ensure_private_dir(self.root)
        append_line(self._path("limits-history.jsonl"), json.dumps({"time": now_iso(), **event}))

    def read_limit_history(self, last: int = 20) -> list[dict[str, Any]]:
        return self._tail("limits-history.jsonl", last)

    def write_launch_env(self, text: str) -> Path:
        """``launch.env`` for one launch line, in a new 0600 file under ``launch/`` (never
        through a link): the line names the file, never the values."""
        ensure_private_dir(self.root)
        name = f"{secrets.token_hex(8)}.env"
        with folder(self.root, ("launch",), create=True) as fd:
            write_at(fd, name, text.encode(), mode=0o600)
        return self.root / "launch" / name

    def clear_launch_envs(self) -> None:
        """Every ``launch.env`` file a launch did not read (its line was refused, or its
        Claude never started): gone, so no value waits on disk."""
        with contextlib.suppress(OSError), folder(self.root, ("launch",)) as fd:
            for entry in list(os.scandir(fd)):
                if entry.name.endswith(".env"):
                    unlink_at(fd, entry.name)

    def write_last_valid(self, raw: bytes) -> None:
        """The desired file's text as it last loaded: what ``status`` and ``top`` show
        while an edit is broken (``desired.last-valid``)."""
        self._write_bytes("desired.last-valid", raw)

    def read_last_valid(self) -> bytes | None:
        try:
            return read_private(self._path("desired.last-valid"))
        except OSError:
            return None

    def write_segment(self, text: str) -> None:
        """What ``status --format tmux`` shows (``segment.txt``): advisory, unsynced."""
        self._write_bytes("segment.txt", text.encode(), sync=False)

    def read_service(self) -> dict[str, Any] | None:
        raw = read_json(self._path("service.json"))
        return raw if isinstance(raw, dict) else None

    def write_service(self, status: Mapping[str, Any]) -> None:
        """The running service's pid and last cycle; advisory, so not fsynced."""
        self._write("service.json", dict(status), sync=False)
