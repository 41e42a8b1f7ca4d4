"""Build the frozen, typed desired state from a document that passed the schema.

Every section is made here, once: paths expanded (``~`` is the reconciler's HOME) and
checked for shell syntax, durations parsed, defaults filled in. Problems found on the
way (a relative path, a launch command carrying ``--resume``) are collected with
their line, for the loader to report with the rest.
"""

from __future__ import annotations

import math
import os
import re
from datetime import timedelta
from pathlib import Path
from typing import Any

from reconciler.claudecode import launch_words, session_flags_in, terminal_safe
from reconciler.desired._errors import Problem
from reconciler.desired._model import (
    DEFAULT_CONTINUE,
    USAGE_URL,
    Account,
    AlertSinkSpec,
    AutonomousPool,
    CommandSinkSpec,
    DedicatedSession,
    DesiredState,
    DriftSpec,
    FailoverSpec,
    LaunchSpec,
    SafetyHook,
    ServiceSpec,
    SharedSpec,
    TelegramSinkSpec,
    TmuxSpec,
    WebhookSinkSpec,
)
from reconciler.desired._yaml import KeyPath, LocatedDocument, dotted

DEFAULT_ENTRIES = ("projects", "file-history", "session-env", "todos")
UNSAFE_PATH = re.compile(r"[\x00-\x1f\x7f'\"$`;|&<>\\*?!]")
_DURATION_PART = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


DAY = 86400.0
BOUNDS: dict[str, tuple[float, float]] = {
    "service.interval": (1.0, DAY),
    "service.crashloop_window": (1.0, DAY),
    "service.crashloop_max_backoff": (1.0, DAY),
    "launch.stop_timeout": (0.0, 3600.0),
    "launch.start_timeout": (0.1, 3600.0),
    "failover.cooldown": (0.0, 30 * DAY),
    "failover.grace": (0.0, 30 * DAY),
    "failover.default_reset": (60.0, 35 * DAY),
    "failover.preempt_wait": (0.0, DAY),
    "failover.move_wait": (0.0, DAY),
    "failover.usage_every": (1.0, DAY),
}
"""(least, most) seconds per duration key: a .inf, a .nan or ``9999999999d`` would hang a
loop or overflow a timer; an interval under a second would spin."""
ALERT_TIMEOUT = (0.1, 300.0)


def parse_duration(value: float | int | str) -> float:
    """Seconds from ``30``, ``"30s"``, ``"1h30m"`` (the schema checked the form); may be
    infinite or NaN for ``.inf``/``.nan``: callers check with ``duration_problem``."""
    if isinstance(value, int | float):
        return float(value)
    return sum(float(n) * _UNITS[u] for n, u in _DURATION_PART.findall(value))


def duration_problem(seconds: float, bounds: tuple[float, float]) -> str | None:
    """Why ``seconds`` cannot be used, or None."""
    least, most = bounds
    if not math.isfinite(seconds):
        return "must be a finite duration"
    if seconds < least:
        return f"must be at least {least:g}s"
    if seconds > most:
        days = most / DAY
        return f"must be at most {most:g}s ({days:g} day{'' if days == 1 else 's'})"
    return None


class Builder:
    """Builds the frozen model from checked data, collecting path problems."""

    def __init__(self, path: Path, doc: LocatedDocument, home: Path) -> None:
        self.path = path
        self.doc = doc
        self.home = home
        self.problems: list[Problem] = []

    def tilde(self, text: str) -> str:
        """``~`` and ``~/...`` as a shell expands them, against the loader's HOME: the one
        place it is done (every word is later typed quoted, where no shell would)."""
        return str(self.home) + text[1:] if text == "~" or text.startswith("~/") else text

    def expand(self, value: str, where: KeyPath) -> Path:
        text = self.tilde(value)
        unsafe = UNSAFE_PATH.search(text)
        if unsafe:
            self._problem(where, f"{value!r} has {unsafe.group()!r}: quotes, $, `, ;, |, &, <, >,"
                                 " wildcards and control characters are not allowed in paths")
        elif ".." in Path(text).parts:
            self._problem(where, f"{value!r}: '..' is not allowed in paths")
        elif not Path(text).is_absolute():
            self._problem(where, f"{value!r} is relative; use an absolute path or '~/'")
        return Path(os.path.normpath(text))

    def duration(self, raw: dict[str, Any], section: str, key: str,
                 default: float | str) -> float:
        """A duration of ``section.key``, checked against its bounds (a problem if not)."""
        seconds = parse_duration(raw.get(key, default))
        why = duration_problem(seconds, BOUNDS[f"{section}.{key}"])
        if why is not None:
            self._problem((section, key), why)
            return parse_duration(default)
        return seconds

    def _problem(self, where: KeyPath, message: str) -> None:
        self.problems.append(Problem(self.path, self.doc.line_of(where), dotted(where), message))

    def build(self, digest: str) -> DesiredState:
        data: dict[str, Any] = self.doc.data
        accounts = tuple(
            Account(a["name"], self.expand(a["home"], ("accounts", i, "home")))
            for i, a in enumerate(data["accounts"])
        )
        shared_raw = data.get("shared") or {"dir": "~/.claude-shared"}
        shared = SharedSpec(
            self.expand(shared_raw["dir"], ("shared", "dir")),
            tuple(shared_raw.get("entries", DEFAULT_ENTRIES)),
        )
        tmux_raw = data.get("tmux") or {}
        socket_path = tmux_raw.get("socket_path")
        tmux = TmuxSpec(
            tmux_raw.get("socket_name"),
            self.expand(socket_path, ("tmux", "socket_path")) if socket_path else None,
        )
        pool = data.get("pool") or {}
        auto = pool.get("autonomous")
        autonomous = None
        if auto is not None:
            autonomous = AutonomousPool(
                prefix=auto["prefix"],
                start_index=auto.get("start_index", 0),
                min=auto.get("min", 0),
                max=auto.get("max", max(auto.get("min", 0), 1)),
                cwd=self.expand(auto.get("cwd", "~"), ("pool", "autonomous", "cwd")),
            )
        dedicated = tuple(
            DedicatedSession(
                d["name"],
                self.expand(d["project"], ("pool", "dedicated", i, "project")),
                d.get("resume", True),
                d.get("trust", False),
            )
            for i, d in enumerate(pool.get("dedicated", []))
        )
        launch_raw = data.get("launch") or {}
        launch = LaunchSpec(
            command=self._launch_words(launch_raw.get("command", "claude")),
            env=tuple(sorted((launch_raw.get("env") or {}).items())),
            stop_timeout=self.duration(launch_raw, "launch", "stop_timeout", 10),
            start_timeout=self.duration(launch_raw, "launch", "start_timeout", 10),
        )
        return DesiredState(
            source=self.path,
            digest=digest,
            active_account=data["active_account"],
            accounts=accounts,
            link=self.expand(data.get("link", "~/.claude"), ("link",)),
            shared=shared,
            tmux=tmux,
            autonomous=autonomous,
            dedicated=dedicated,
            launch=launch,
            failover=self._failover(data.get("failover") or {}, accounts),
            service=self._service(data.get("service") or {}),
            drift=DriftSpec(**(data.get("drift") or {})),
            alerts=tuple(self._sink(i, raw) for i, raw in enumerate(data.get("alerts") or [])),
            safety_hook=SafetyHook(**data["safety_hook"]) if data.get("safety_hook") else None,
        )

    def _failover(self, raw: dict[str, Any], accounts: tuple[Account, ...]) -> FailoverSpec:
        def span(key: str, default: str) -> timedelta:
            return timedelta(seconds=self.duration(raw, "failover", key, default))

        return FailoverSpec(
            order=tuple(raw.get("order") or (a.name for a in accounts)),
            enabled=bool(raw.get("enabled", True)), cooldown=span("cooldown", "2m"),
            grace=span("grace", "5m"), default_reset=span("default_reset", "5h"),
            signals=bool(raw.get("signals", True)),
            preempt_at=self._percent(raw.get("preempt_at")),
            move_wait=span("move_wait", "10m") if "move_wait" in raw or "preempt_wait" not in raw
            else span("preempt_wait", "10m"),
            continue_message=self._continue(raw.get("continue", DEFAULT_CONTINUE)),
            usage_url=str(raw.get("usage_url", USAGE_URL)), usage_every=span("usage_every", "5m"),
            choose=raw.get("choose", "headroom"))

    def _continue(self, value: Any) -> str | None:
        """``continue``: one quoted word after ``--`` on the resume line, never run by a
        shell; a control character would act in the terminal before the shell saw a
        quote, and Claude runs a first message that starts with ``/`` as a command."""
        if value is False:
            return None
        text = str(value)
        if not terminal_safe(text):
            self._problem(("failover", "continue"), "must not hold control characters "
                          "(a newline, a tab, an escape): it is typed on the resume line")
            return DEFAULT_CONTINUE
        if text.lstrip().startswith("/") or not text.strip():
            self._problem(("failover", "continue"), "must be a message: Claude would run one "
                          "that starts with '/' as a command, and ignore a blank one")
            return DEFAULT_CONTINUE
        return text

    def _percent(self, value: Any) -> float | None:
        if value is None:
            return None
        if not math.isfinite(float(value)):
            self._problem(("failover", "preempt_at"), "must be a finite percent")
            return None
        return float(value)

    def _service(self, raw: dict[str, Any]) -> ServiceSpec:
        metrics = raw.get("metrics_file")
        return ServiceSpec(
            interval=self.duration(raw, "service", "interval", 30),
            metrics_file=self.expand(metrics, ("service", "metrics_file")) if metrics else None,
            crashloop_window=self.duration(raw, "service", "crashloop_window", 0)
            if "crashloop_window" in raw else None,
            crashloop_max_backoff=self.duration(raw, "service", "crashloop_max_backoff", 600))

    def _sink(self, index: int, raw: dict[str, Any]) -> AlertSinkSpec:
        timeout = parse_duration(raw.get("timeout", 5))
        why = duration_problem(timeout, ALERT_TIMEOUT)
        if why is not None:
            self._problem(("alerts", index, "timeout"), why)
            timeout = 5.0
        if raw["type"] == "command":
            return CommandSinkSpec(tuple(raw["command"]), timeout)
        if raw["type"] == "webhook":
            return WebhookSinkSpec(str(raw["url"]), timeout,
                                   tuple(sorted((raw.get("headers") or {}).items())))
        token_file = raw.get("token_file")
        return TelegramSinkSpec(
            chat_id=str(raw["chat_id"]), token_env=raw.get("token_env", "TELEGRAM_BOT_TOKEN"),
            token_file=self.expand(token_file, ("alerts", index, "token_file"))
            if token_file else None,
            api_base=raw.get("api_base", "https://api.telegram.org"), timeout=timeout)

    def _launch_words(self, command: str) -> tuple[str, ...]:
        where: KeyPath = ("launch", "command")
        try:
            words = launch_words(command)
        except ValueError as exc:
            self._problem(where, f"cannot split into words: {exc}")
            return ("claude",)
        if not words:
            self._problem(where, "is empty")
            return ("claude",)
        flags = session_flags_in(words)
        if flags:
            self._problem(where, f"must not carry {', '.join(flags)}: the reconciler adds them")
        return tuple(self.tilde(word) for word in words)
