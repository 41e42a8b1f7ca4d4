"""The records of the state dir, as frozen values that check what they read."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from reconciler.claudecode import SessionId, session_id


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
    cut: str = ""
    """While a relaunch is pending: the turn the stop cut (``row:<uuid>`` of the limit row
    that ended it, ``busy:<pid>`` for a turn stopped mid-way), to be continued by the
    relaunch; empty when the Claude had finished its turn."""
    continued: str = ""
    """The cut turn this launch continued with its first message: the same turn is never
    continued twice (a Claude that leaves again at once is not sent it again)."""
    moved_from: str = ""
    """The account the Claude ran on before this launch, when the launch moved it."""
    why: str = ""
    """Why it moved: ``limit`` (its own account was limited), ``cut`` (a move that could
    not wait any longer, or ``swap --now``), ``turn`` (it moved at a turn boundary)."""

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
                       pid=pid, time=str(raw.get("time", "")), cut=_short(raw.get("cut")),
                       continued=_short(raw.get("continued")),
                       moved_from=_short(raw.get("moved_from")), why=_short(raw.get("why")))
        except KeyError as exc:
            raise ValueError(f"{exc.args[0]} is missing") from None


def _short(value: Any) -> str:
    """An optional text field: a string, at most 200 characters; anything else is empty."""
    return value[:200] if isinstance(value, str) else ""


@dataclass(frozen=True)
class TurnWait:
    """A Claude that must move to another account but is mid-turn: the move waits for
    its turn to end, from ``since`` until the bound (``failover.move_wait``). Valid only
    for the process it names (pid and start time)."""

    target: str
    pid: int
    start: int
    since: str

    @classmethod
    def from_json(cls, raw: Any) -> TurnWait:
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")  # noqa: TRY004  (one error kind: "untrusted")
        pid, start, since = raw.get("pid"), raw.get("start"), raw.get("since")
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in (pid, start)) or \
                not isinstance(since, str):
            raise ValueError("pid, start or since is missing or of the wrong type")
        try:
            datetime.fromisoformat(since)
        except ValueError:
            raise ValueError(f"since {since[:40]!r} is not a time") from None
        return cls(str(raw.get("target", "")), int(pid), int(start), since)  # type: ignore[arg-type]

    @property
    def since_time(self) -> datetime:
        return datetime.fromisoformat(self.since)


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


@dataclass(frozen=True)
class PaneBook:
    """Everything the state dir remembers about panes, read in one go."""

    launches: dict[str, LaunchRecord] = field(default_factory=dict)
    prompts: dict[str, PromptRecord] = field(default_factory=dict)
    waits: dict[str, TurnWait] = field(default_factory=dict)
    """Moves waiting for a Claude's turn to end, by pane target."""
    created: frozenset[str] = frozenset()
    """Session names the autonomous pool created (it may shrink only those)."""
    ignored: tuple[str, ...] = ()
    """Records that could not be trusted, with the reason, for the user to see."""


@dataclass(frozen=True)
class ActiveRecord:
    """Who is active and since when, written with every swap, whoever made it; the one
    place the failover's cooldown and its "moved away" alert read."""

    account: str
    since: str
    reason: str
    """``hand``, ``command``, ``limit``, ``return``, ``preempt`` or ``initial``."""
    last_automatic: str | None = None
    """When failover last swapped (``limit``, ``preempt`` or ``return``), for the cooldown."""
    now: bool = False
    """``swap --now``: the moves to this account do not wait for turns to end (each cut
    turn is continued on the new account)."""

    @classmethod
    def from_json(cls, raw: Any) -> ActiveRecord | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("account"), str):
            return None
        last = raw.get("last_automatic")
        return cls(raw["account"], str(raw.get("since", "")), str(raw.get("reason", "")),
                   last if isinstance(last, str) else None, raw.get("now") is True)

    @property
    def automatic_at(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.last_automatic) if self.last_automatic else None
        except ValueError:
            return None


@dataclass(frozen=True)
class Converged:
    """The last clean converge: later pending actions under the same digest are drift."""

    digest: str
    time: str
    active_account: str

    @classmethod
    def from_json(cls, raw: Any) -> Converged | None:
        if not isinstance(raw, dict):
            return None
        try:
            return cls(str(raw["digest"]), str(raw["time"]), str(raw["active_account"]))
        except KeyError:
            return None


@dataclass(frozen=True)
class LimitRecord:
    """An account's usage limit as the reconciler knows it, and what told it so."""

    account: str
    resets_at: datetime
    kind: str
    reason: str
    detected_at: datetime
    source: str = "pane"
    """``hook`` (StopFailure), ``status line``, ``transcript``, ``pane``, ``import``."""
    session: str | None = None
    text: str = ""
    """The statement as Claude wrote it."""

    @property
    def preempted(self) -> bool:
        """Not a limit yet: ``preempt_at`` moves the account's Claudes at turn boundaries,
        where a real limit moves them at once (their turns are cut already)."""
        return self.kind.startswith("preempt")

    def to_json(self) -> dict[str, str | None]:
        return {"account": self.account, "resets_at": self.resets_at.isoformat(),
                "kind": self.kind, "reason": self.reason,
                "detected_at": self.detected_at.isoformat(), "source": self.source,
                "session": self.session, "text": self.text}

    @classmethod
    def from_json(cls, raw: Any) -> LimitRecord:
        """The limit, or ValueError/KeyError/TypeError when the record is not one."""
        resets = datetime.fromisoformat(str(raw["resets_at"]))
        detected = datetime.fromisoformat(str(raw["detected_at"]))
        if resets.tzinfo is None or detected.tzinfo is None:
            raise ValueError("times must carry a zone")
        session = raw.get("session")
        return cls(str(raw["account"]), resets, str(raw.get("kind", "usage")),
                   str(raw.get("reason", "")), detected, str(raw.get("source", "pane")),
                   session if isinstance(session, str) else None, str(raw.get("text", ""))[:500])


@dataclass(frozen=True)
class CrashRecord:
    """A pane whose Claude keeps exiting right after its launch."""

    count: int
    until: str
    """ISO time before which no launch is tried."""
    last_launch: str
    """Launch-record time already counted, so one crash is counted once."""
    reason: str = ""
    """What the pane said when the Claude left (``No conversation found``...)."""

    @classmethod
    def from_json(cls, raw: Any) -> CrashRecord | None:
        if not isinstance(raw, dict):
            return None
        try:
            return cls(int(raw["count"]), str(raw["until"]), str(raw["last_launch"]),
                       str(raw.get("reason", ""))[:300])
        except (KeyError, TypeError, ValueError):
            return None


@dataclass(frozen=True)
class UsageWindow:
    """One window of an account's usage: percent used and when it resets."""

    name: str
    """``five_hour``, ``seven_day``, ``seven_day_opus`` ..."""
    used: float
    resets_at: datetime | None


@dataclass(frozen=True)
class UsageRecord:
    """The last reading of an account's usage, where it came from and when. Never the
    token it was read with."""

    account: str
    read_at: datetime | None
    source: str
    """``usage endpoint`` (polled), ``status line`` (a Claude on it reported), ``none``."""
    windows: tuple[UsageWindow, ...] = ()
    note: str = ""
    """Why there is no fresh reading (an expired token, the endpoint's answer)."""
    retry_after: datetime | None = None
    """The endpoint asked us to wait until then (a 429's ``retry-after``)."""
    history: tuple[tuple[datetime, tuple[tuple[str, float], ...]], ...] = ()
    """Earlier readings (time, window -> used), oldest first: the burn rate's data."""

    def window(self, name: str) -> UsageWindow | None:
        return next((w for w in self.windows if w.name == name), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "account": self.account, "source": self.source, "note": self.note,
            "read_at": self.read_at.isoformat() if self.read_at else None,
            "retry_after": self.retry_after.isoformat() if self.retry_after else None,
            "windows": {w.name: {"used": w.used, "resets_at": w.resets_at.isoformat()
                                 if w.resets_at else None} for w in self.windows},
            "history": [[t.isoformat(), dict(used)] for t, used in self.history]}

    @classmethod
    def from_json(cls, raw: Any) -> UsageRecord | None:
        if not isinstance(raw, dict) or not isinstance(raw.get("account"), str):
            return None
        windows = []
        for name, body in (raw.get("windows") or {}).items():
            used = body.get("used") if isinstance(body, dict) else None
            if isinstance(used, int | float) and not isinstance(used, bool):
                windows.append(UsageWindow(str(name), float(used), _when(body.get("resets_at"))))
        history = []
        for item in raw.get("history") or ():
            if isinstance(item, list) and len(item) == 2 and isinstance(item[1], dict):
                when = _when(item[0])
                used_by = tuple((str(k), float(v)) for k, v in item[1].items()
                                if isinstance(v, int | float) and not isinstance(v, bool))
                if when is not None:
                    history.append((when, used_by))
        return cls(raw["account"], _when(raw.get("read_at")), str(raw.get("source", "none")),
                   tuple(windows), str(raw.get("note", ""))[:300],
                   _when(raw.get("retry_after")), tuple(history[-24:]))


def _when(value: Any) -> datetime | None:
    """An ISO time with a zone, or None."""
    if not isinstance(value, str):
        return None
    try:
        found = datetime.fromisoformat(value)
    except ValueError:
        return None
    return found if found.tzinfo is not None else None
