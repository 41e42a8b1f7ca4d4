"""Each service cycle: look for usage limits, persist them, swap when the policy says.

Sources: the transcript rows Claude writes (``isApiErrorMessage`` assistant rows,
only those after the session's launch) and the pane text after the launch line,
minus any limit text the transcript already had before the launch (a replay).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta, tzinfo
from pathlib import Path

from reconciler.claudecode import CONFIG_ENV, transcript_dir
from reconciler.desired import DesiredState, swap_active_account
from reconciler.failover._detect import LimitMatch, detect, normalise
from reconciler.failover._limits import last_auto_swap
from reconciler.failover._policy import Decision, Limit, decide
from reconciler.observe import Observed, PaneFact, capture_panes
from reconciler.statedir import StateDir

_TAIL_BYTES = 256 * 1024
STUCK = {
    "What do you want to do?": "waiting at the usage-limit menu",
    "Do you trust the files in this folder?": "waiting at the workspace-trust prompt",
    "Select login method": "waiting at the login prompt",
    "Please run /login": "not logged in",
    "Invalid API key": "not logged in (invalid API key)",
}


def _rows(path: Path) -> Iterator[dict[str, object]]:
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, 2)
            handle.seek(max(0, size - _TAIL_BYTES))
            data = handle.read()
    except OSError:
        return
    for line in data.splitlines():
        try:
            row = json.loads(line)
        except ValueError:
            continue
        if isinstance(row, dict):
            yield row


def _row_text(row: dict[str, object]) -> str:
    message = row.get("message")
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
    return ""


def _when(row: dict[str, object]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(row.get("timestamp", "")).replace("Z", "+00:00"))
    except ValueError:
        return None


def transcript_errors(
    desired: DesiredState, cwd: str, session_id: str, launched: datetime | None
) -> tuple[str, set[str]]:
    """(limit-ish error text written after the launch, normalised lines written before)."""
    homes = [a.home for a in desired.accounts] + [desired.shared.dir]
    seen: set[Path] = set()
    after: list[str] = []
    before: set[str] = set()
    for home in homes:
        path = transcript_dir(home, cwd) / f"{session_id}.jsonl"
        real = path.resolve()
        if real in seen:
            continue
        seen.add(real)
        for row in _rows(path):
            if row.get("type") != "assistant" or not row.get("isApiErrorMessage"):
                continue
            when = _when(row)
            if launched is not None and when is not None and when < launched:
                before.update(normalise(_row_text(row)).splitlines())
            else:
                after.append(_row_text(row))
    return "\n".join(after), before


def pane_after_launch(text: str, replays: set[str]) -> str:
    """Pane text after our launch line, without lines the transcript had before it."""
    marker = text.rfind(CONFIG_ENV + "=")
    if marker >= 0:
        text = text[text.find("\n", marker) + 1:] if "\n" in text[marker:] else ""
    return "\n".join(line for line in normalise(text).splitlines() if line not in replays)


def stuck_panes(texts: dict[str, str], panes: list[PaneFact]) -> dict[str, str]:
    """Panes waiting at a menu or prompt that must not be typed into blindly."""
    stuck: dict[str, str] = {}
    for pane in panes:
        tail = texts.get(pane.pane_id, "")[-2000:]
        for needle, what in STUCK.items():
            if needle in tail:
                stuck[pane.target] = f"{pane.target} is {what}; not typing into it"
    return stuck


def claude_panes(desired: DesiredState, observed: Observed) -> list[PaneFact]:
    return [p for p in observed.tmux.panes
            if p.claude is not None and desired.managed(p.session_name, observed.created)]


Conditions = dict[str, dict[str, str]]
"""Alert kind -> every subject that is a problem now, with its message. The service's
alert book turns them into one firing when a subject appears and one resolve when it
goes: this wing says what is true, the alerts wing says it once."""


def _away(state: StateDir, order: tuple[str, ...], active: str) -> dict[str, str]:
    """Firing while a limit has moved everything off the first account, until it returns."""
    record = state.read_active()
    primary = order[0] if order else active
    if active == primary or record is None or record.reason != "limit":
        return {}
    return {"active_account": f"moved off {primary} to {active} after a usage limit; "
                              f"returns once {primary} resets"}


class Failover:
    """The failover policy as a service hook; holds only what must outlive a cycle."""

    def __init__(self, local: tzinfo | None = None) -> None:
        self.local = local

    def _detect(self, desired: DesiredState, observed: Observed, pane: PaneFact, text: str,
                default: timedelta) -> LimitMatch:
        claude = pane.claude
        assert claude is not None  # noqa: S101
        record = observed.records.get(pane.target)
        launched = (datetime.fromisoformat(record.time)
                    if record is not None and record.time and record.pid == claude.pid else None)
        written, replays = "", set[str]()
        if claude.session_id and claude.cwd:
            written, replays = transcript_errors(desired, claude.cwd, claude.session_id, launched)
        local = self.local or observed.now.astimezone().tzinfo
        assert local is not None  # noqa: S101
        combined = "\n".join([written, pane_after_launch(text, replays)])
        return detect(combined, now=observed.now, local=local, default_reset=default)

    def __call__(self, desired: DesiredState, state: StateDir, observed: Observed) -> Conditions:
        config = desired.failover
        limits = state.read_limits()
        panes = claude_panes(desired, observed)
        texts = capture_panes(desired.tmux.server_args(), panes) if panes else {}
        for pane in panes:
            text = texts.get(pane.pane_id, "")
            account = pane.claude.account if pane.claude else None
            if account is None:
                continue
            match = self._detect(desired, observed, pane, text, config.default_reset)
            if match.limit and match.resets_at is not None:
                old = limits.get(account)
                if old is None or old.resets_at < match.resets_at:
                    limits[account] = Limit(account, match.resets_at, match.kind, match.reason,
                                            observed.now)
        decision = decide(desired, limits, observed.now, last_auto_swap(state))
        active = self._act(desired, state, decision)
        for name in [n for n, lim in limits.items()
                     if lim.resets_at + config.grace <= observed.now]:
            del limits[name]
        state.write_limits(limits)
        return {
            "limit": {n: f"{n}: {lim.reason}" for n, lim in limits.items()},
            "stuck_session": stuck_panes(texts, panes),
            "all_limited": {"accounts": decision.message} if decision.action == "wait" else {},
            "failover": _away(state, config.order, active),
        }

    @staticmethod
    def _act(desired: DesiredState, state: StateDir, decision: Decision) -> str:
        """Swap when the policy says so; the account active after this cycle."""
        if decision.action != "swap" or decision.to is None:
            return desired.active_account
        swap_active_account(desired.source, decision.to, reason=decision.reason, state=state)
        return decision.to
