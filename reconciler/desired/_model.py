"""The desired state as frozen values: what the user asked for, paths expanded.

Every section is typed and built once, in ``_load``, the way kopf builds its
settings: no layer reads the YAML document or expands ``~`` itself."""

from __future__ import annotations

import functools
import re
import shlex
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from reconciler.desired._errors import Problem

_CANONICAL_INDEX = re.compile(r"0|[1-9][0-9]{0,5}")
MIN_SECRET = 4
DEFAULT_CONTINUE = "Continue from where you left off."
USAGE_URL = "https://api.anthropic.com/api/oauth/usage"
"""Neutral on purpose: it names no task, so it fits whatever the cut turn was doing."""


@dataclass(frozen=True)
class Account:
    name: str
    home: Path


@dataclass(frozen=True)
class SharedSpec:
    dir: Path
    entries: tuple[str, ...]


@dataclass(frozen=True)
class TmuxSpec:
    socket_name: str | None = None
    socket_path: Path | None = None

    def server_args(self) -> tuple[str, ...]:
        """The ``-L``/``-S`` arguments that select this tmux server."""
        if self.socket_path is not None:
            return ("-S", str(self.socket_path))
        if self.socket_name is not None:
            return ("-L", self.socket_name)
        return ()


@dataclass(frozen=True)
class AutonomousPool:
    prefix: str
    start_index: int
    min: int
    max: int
    cwd: Path

    def name(self, index: int) -> str:
        return f"{self.prefix}{index}"

    def index_of(self, session_name: str) -> int | None:
        """The index a pool session name spells exactly (``prefix`` + the canonical
        decimal, no leading zero), or None: ``ccl-auto-007`` is nobody's index."""
        digits = session_name.removeprefix(self.prefix)
        if digits == session_name or not _CANONICAL_INDEX.fullmatch(digits):
            return None
        return int(digits)

    def owns(self, session_name: str, created: Collection[str] = ()) -> bool:
        """The pool owns a session whose name is exactly one of its indices, within the
        range it may fill (``start_index`` to ``start_index + max``), or one it created
        itself (so it can shrink after ``max`` is lowered). A hand-made
        ``ccl-auto-123456`` is never the pool's."""
        index = self.index_of(session_name)
        if index is None or index < self.start_index:
            return False
        return index < self.start_index + self.max or session_name in created


@dataclass(frozen=True)
class DedicatedSession:
    name: str
    project: Path
    resume: bool = True
    trust: bool = False
    """Accept Claude's trust prompt for this project on every account."""


@dataclass(frozen=True)
class LaunchSpec:
    command: tuple[str, ...]
    env: tuple[tuple[str, str], ...] = ()
    stop_timeout: float = 10.0
    start_timeout: float = 10.0


@dataclass(frozen=True)
class SafetyHook:
    """A PreToolUse hook that must be in a dedicated project's settings before Claude runs."""

    matcher: str
    command: str


@dataclass(frozen=True)
class ServiceSpec:
    """``service:``: how ``reconcile run`` paces itself and where it reports."""

    interval: float = 30.0
    metrics_file: Path | None = None
    crashloop_window: float | None = None
    """A Claude that exits sooner than this after its launch counts as a crash (default:
    three service intervals, so a crash is still young at the cycle that sees it)."""
    crashloop_max_backoff: float = 600.0


@dataclass(frozen=True)
class DriftSpec:
    """``drift:``: ``correct`` puts the world back and alerts; ``alert`` only reports."""

    policy: Literal["correct", "alert"] = "correct"


@dataclass(frozen=True)
class FailoverSpec:
    """``failover:``: which account to move to on a usage limit, and when to come back."""

    order: tuple[str, ...]
    """Accounts failover may use, most preferred first (default: the accounts' order)."""
    enabled: bool = True
    cooldown: timedelta = timedelta(minutes=2)
    grace: timedelta = timedelta(minutes=5)
    default_reset: timedelta = timedelta(hours=5)
    signals: bool = True
    """Claude's own signals (a StopFailure hook, the status line) in every account home."""
    preempt_at: float | None = None
    """Percent of the five-hour or weekly window at which to move before the limit."""
    move_wait: timedelta = timedelta(minutes=10)
    """How long a move that can wait (a return, ``preempt_at``, a hand swap, drift) waits
    for each busy Claude to end its turn; at the bound its turn is cut and continued."""
    continue_message: str | None = DEFAULT_CONTINUE
    """``continue``: the first message of a Claude resumed after its turn was cut, so the
    turn carries on; None (``continue: false``) resumes it at an empty prompt."""
    usage_url: str = USAGE_URL
    """Each account's usage endpoint: ``GET`` with that account's own token."""
    usage_every: timedelta = timedelta(minutes=5)
    choose: Literal["headroom", "order"] = "headroom"
    """Move to the usable account with the most usage left (ties by ``order``), or to the
    next in ``order``."""

    @property
    def primary(self) -> str:
        return self.order[0]


@dataclass(frozen=True)
class CommandSinkSpec:
    """Run ``argv`` (no shell) with the alert JSON on stdin."""

    argv: tuple[str, ...]
    timeout: float = 5.0


@dataclass(frozen=True)
class WebhookSinkSpec:
    url: str
    timeout: float = 5.0
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class TelegramSinkSpec:
    """The token comes from ``token_file`` or ``$token_env`` when the sink is built,
    never from the desired file, so it is never in a plan or a log."""

    chat_id: str
    token_env: str = "TELEGRAM_BOT_TOKEN"  # noqa: S105  (the name of a variable, not a token)
    token_file: Path | None = None
    api_base: str = "https://api.telegram.org"
    timeout: float = 5.0


AlertSinkSpec = CommandSinkSpec | WebhookSinkSpec | TelegramSinkSpec


@dataclass(frozen=True)
class DesiredState:
    source: Path
    digest: str
    active_account: str
    accounts: tuple[Account, ...]
    link: Path
    shared: SharedSpec
    tmux: TmuxSpec
    autonomous: AutonomousPool | None
    dedicated: tuple[DedicatedSession, ...]
    launch: LaunchSpec
    failover: FailoverSpec
    service: ServiceSpec = ServiceSpec()
    drift: DriftSpec = DriftSpec()
    alerts: tuple[AlertSinkSpec, ...] = ()
    safety_hook: SafetyHook | None = None
    warnings: tuple[Problem, ...] = ()
    """Fine to write down, not yet usable (a home that does not exist): ``validate``
    prints them, ``swap`` refuses to move onto them."""

    @property
    def active(self) -> Account:
        return self.account(self.active_account)

    def account(self, name: str) -> Account:
        for account in self.accounts:
            if account.name == name:
                return account
        raise KeyError(name)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values never shown in a log, a plan, a state file or an alert: every
        ``launch.env`` value and webhook header, and a webhook URL's path (a Slack or
        Discord URL is itself the credential). Very short values are left: they would
        blank out ordinary words."""
        found = [value for _, value in self.launch.env]
        found += [shlex.quote(value) for value in found]  # as typed in a launch line
        for sink in self.alerts:
            if isinstance(sink, WebhookSinkSpec):
                found += [value for _, value in sink.headers]
                found.append(sink.url.split("://", 1)[-1].partition("/")[2])
        return tuple(sorted({s for s in found if len(s) >= MIN_SECRET}, key=len, reverse=True))

    def redact(self, text: str) -> str:
        """``text`` with every secret of ``secrets`` replaced by ``<redacted>``."""
        for secret in self.secrets:
            text = text.replace(secret, "<redacted>")
        return text

    @functools.cached_property
    def dedicated_names(self) -> frozenset[str]:
        return frozenset(d.name for d in self.dedicated)

    def managed(self, session_name: str, created: Collection[str] = ()) -> bool:
        """Sessions outside these names are never touched."""
        if session_name in self.dedicated_names:
            return True
        return self.autonomous is not None and self.autonomous.owns(session_name, created)
