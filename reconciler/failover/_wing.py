"""The failover wing, once per service cycle, between observe and plan: read the limit
evidence, keep the limits, decide, and swap when the policy says, so the plan of the
same cycle already moves the Claudes (one observe, one plan, one apply per limit).

Evidence comes from Claude's own signals first (the StopFailure hook, the status line's
usage), then transcripts, then pane text (see ``_evidence``). Every new limit is kept in
``limits.json`` with its source and text, and written to the limits' history. The pane
text is what observe captured in the same cycle: no pane is captured twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo

from reconciler.desired import DesiredState, DesiredStateError, swap_active_account
from reconciler.failover._capacity import Room, headroom_table, usage
from reconciler.failover._detect import LimitMatch
from reconciler.failover._evidence import (
    SOURCES,
    Evidence,
    hook_evidence,
    launched_at,
    pane_key,
    pane_text,
    since_launch,
    transcript_evidence,
)
from reconciler.failover._judge import exhausted, judge
from reconciler.failover._limits import last_auto_swap, moved_by_limit
from reconciler.failover._policy import Decision, Limit, Move, decide
from reconciler.observe import Observed, PaneFact
from reconciler.plan import account_refusal
from reconciler.signals import SignalDir
from reconciler.statedir import StateDir

KEEP_EVIDENCE = timedelta(days=10)
STUCK = {
    "What do you want to do?": ("waiting at the usage-limit menu (/rate-limit-options)",
                                "press Esc to close it"),
    "Quick safety check": ("waiting at the workspace-trust prompt",
                           "move to 'Yes, I trust this folder' and press Enter (the current "
                           "release's default is 'No, exit')"),
    "Do you trust the files in this folder?": (
        "waiting at the workspace-trust prompt",
        "move to 'Yes, I trust this folder' and press Enter"),
    "Bypass Permissions mode": ("waiting at the bypass-permissions disclaimer",
                                "move to 'Yes, I accept' and press Enter"),
    "Settings Warning": ("waiting at a settings warning (a setting or hook event this release "
                         "does not know)", "press Enter to go on; `reconcile doctor` says "
                         "which setting"),
    "Select login method": ("waiting at the login prompt",
                            "log in there, or press Ctrl-C and log that account in"),
    "Please run /login": ("not logged in", "type /login there"),
    "Invalid API key": ("not logged in (invalid API key)", "type /login there"),
}
"""What a pane's present Claude shows -> (what it waits at, what a person does about it):
the reconciler never types into such a pane itself."""

Conditions = dict[str, dict[str, str]]
"""Alert kind -> every subject that is a problem now, with its message. The service's
alert book turns them into one firing when a subject appears and one resolve when it
goes: this wing says what is true, the alerts wing says it once."""


def stuck_panes(texts: dict[str, str], panes: list[PaneFact]) -> dict[str, str]:
    """Panes waiting at a menu or prompt that must not be typed into blindly. Only what
    the pane's present Claude printed counts: a menu its predecessor left in the
    scrollback is over."""
    stuck: dict[str, str] = {}
    for pane in panes:
        tail = since_launch(texts.get(pane.pane_id, ""))[-2000:]
        for needle, (what, remedy) in STUCK.items():
            if needle in tail:
                stuck[pane.target] = (f"{pane.target} is {what}; not typing into it: "
                                      f"{remedy} (tmux attach -t '{pane.session_name}')")
    return stuck


def claude_panes(desired: DesiredState, observed: Observed) -> list[PaneFact]:
    return [p for p in observed.tmux.panes
            if p.claude is not None and desired.managed(p.session_name, observed.created)]


@dataclass(frozen=True)
class Verdict:
    """What the wing found and did in one cycle: the plan of the same cycle moves the
    Claudes with ``desired`` (the swapped state when it swapped) and ``limits``."""

    desired: DesiredState
    limits: dict[str, Limit]
    decision: Decision
    conditions: Conditions
    rooms: dict[str, Room] = field(default_factory=dict)
    """What each account has left, as the decision saw it."""


def _full_windows(windows: dict[str, dict[str, tuple[float, datetime]]]) -> list[Evidence]:
    """A usage window the status line shows at 100 %: the account is limited until its
    reset epoch, whatever any text says. Counted once per window and reset."""
    found = []
    for account, by_name in windows.items():
        full = exhausted(by_name)
        if full is not None:
            name, reset = full
            found.append(Evidence(account, "status line",
                                  f"status:{account}:{name}:{int(reset.timestamp())}", "",
                                  None))
    return found


def _away(state: StateDir, order: tuple[str, ...], active: str) -> dict[str, str]:
    """Firing while a limit has moved everything off the first account, until it returns."""
    record = state.read_active()
    primary = order[0] if order else active
    if active == primary or record is None or record.reason not in ("limit", "preempt"):
        return {}
    return {"active_account": f"moved off {primary} to {active} after a usage limit; "
                              f"returns once {primary} resets"}


class Failover:
    """The failover policy as a service hook; holds only what must outlive a cycle."""

    def __init__(self, local: tzinfo | None = None,
                 say: Callable[[str], None] | None = None) -> None:
        self.local = local
        self.say = say or (lambda _line: None)
        """The service's log: every swap this wing makes says why there."""

    def __call__(self, desired: DesiredState, state: StateDir, observed: Observed) -> Verdict:
        now = observed.now
        limits = state.read_limits()
        seen = state.read_evidence()
        panes = claude_panes(desired, observed)
        texts = {p.pane_id: p.text for p in panes if p.text is not None}
        found = self._evidence(desired, state, observed, panes, texts, seen=seen)
        for evidence, match in found:
            seen[evidence.key] = now.isoformat()
            old = limits.get(evidence.account)
            if old is not None and not old.preempted and old.resets_at >= (
                    match.resets_at or now):
                continue
            assert match.resets_at is not None  # noqa: S101  (a limit always has one)
            limits[evidence.account] = Limit(
                evidence.account, match.resets_at, match.kind, match.reason, now,
                evidence.source, evidence.session,
                desired.redact(match.text or evidence.text[:300]))
            state.record_limit_event({"event": "detected", **limits[evidence.account].to_json()})
        table = headroom_table(desired, state, now)
        self._preempt(desired, state, observed, limits, table)
        unfit = {a.name: why for a in desired.accounts
                 if (why := account_refusal(a.name, a.home, observed)) is not None}
        decision = decide(desired, limits, now, last_auto_swap(state),
                          moved_by_limit=moved_by_limit(state), unfit=unfit, rooms=table)
        after, refused = self._act(desired, state, decision)
        if desired.active_account in limits:  # where a move is wanted, say what it skips
            refused |= {f"unfit:{name}": f"failover does not move to {name}: {why}"
                        for name, why in unfit.items() if name != desired.active_account}
        config = desired.failover
        for name in [n for n, lim in limits.items() if lim.resets_at + config.grace <= now]:
            state.record_limit_event({"event": "reset", "account": name})
            del limits[name]
        state.write_limits(limits)
        cutoff = (now - KEEP_EVIDENCE).isoformat()
        state.write_evidence({k: t for k, t in seen.items() if t >= cutoff})
        return Verdict(after, limits, decision, rooms=table, conditions={
            "limit": {n: f"{lim.reason} (from the {lim.source})" for n, lim in limits.items()},
            "stuck_session": stuck_panes(texts, panes),
            "all_limited": {"accounts": decision.message} if decision.action is Move.WAIT else {},
            "failover": {**_away(state, config.order, after.active_account), **refused},
        })

    def _evidence(self, desired: DesiredState, state: StateDir, observed: Observed,
                  panes: list[PaneFact], texts: dict[str, str], *,
                  seen: dict[str, str]) -> list[tuple[Evidence, LimitMatch]]:
        """New evidence of a limit, per account the most trusted source only. Pane text
        seen while Claude's own signals are installed is marked as seen without counting,
        so old scrollback never counts later, should the hook be taken out."""
        hooks, spooled = hook_evidence(state, desired)
        windows = {a.name: usage(desired, state, a.name, observed.now) for a in desired.accounts}
        candidates: list[Evidence] = [*hooks, *_full_windows(windows)]
        pane_texts: list[tuple[PaneFact, str]] = []
        for pane in panes:
            rows, replays = transcript_evidence(desired, pane, launched_at(observed, pane))
            candidates += rows
            pane_texts.append((pane, pane_text(texts.get(pane.pane_id, ""), replays)))
        local = self.local or observed.now.astimezone().tzinfo
        assert local is not None  # noqa: S101
        default = desired.failover.default_reset
        best: dict[str, tuple[Evidence, LimitMatch]] = {}
        for evidence in candidates:
            if evidence.key not in seen:
                self._keep(best, evidence, judge(
                    evidence.text, row=evidence.row, windows=windows[evidence.account],
                    now=observed.now, local=local, default_reset=default,
                    said_at=evidence.said_at))
        for pane, text in pane_texts:
            account = pane.claude.account if pane.claude else None
            if account is None:
                continue
            match = judge(text, row=None, windows=windows.get(account, {}), now=observed.now,
                          local=local, default_reset=default)
            if not match.limit:
                continue
            evidence = Evidence(account, "pane", pane_key(pane, match.text), text,
                                pane.claude.session_id if pane.claude else None)
            if not self._pane_is_a_source(desired, observed, account):
                seen.setdefault(evidence.key, observed.now.isoformat())
            elif evidence.key not in seen:
                self._keep(best, evidence, match)
        SignalDir(state.root).consume_events(spooled)
        return list(best.values())

    @staticmethod
    def _pane_is_a_source(desired: DesiredState, observed: Observed, account: str) -> bool:
        """Only where Claude's own limit signal cannot arrive: the StopFailure hook decides
        alone (a status line the user changed leaves the hook in place)."""
        fact = observed.accounts.get(account)
        return not desired.failover.signals or fact is None or not fact.signals.hook

    @staticmethod
    def _keep(best: dict[str, tuple[Evidence, LimitMatch]], evidence: Evidence,
              match: LimitMatch) -> None:
        if not match.limit or match.resets_at is None:
            return
        old = best.get(evidence.account)
        if old is None or SOURCES.index(evidence.source) < SOURCES.index(old[0].source):
            best[evidence.account] = (evidence, match)

    def _preempt(self, desired: DesiredState, state: StateDir, observed: Observed,
                 limits: dict[str, Limit], table: dict[str, Room]) -> None:
        """``preempt_at``: the active account is nearly used up (its status line, or the
        usage endpoint), or its burn rate runs a window out before the next reading. It is
        kept as a limit of its own kind: the swap comes at once, and each Claude then moves
        as its turn ends (``move_wait`` at most), never cut mid-turn for it."""
        at = desired.failover.preempt_at
        active = desired.active_account
        off_until = state.read_preempt_off().get(active)
        if at is None or active in limits or (off_until and off_until > observed.now):
            return  # no preempt, or the user cleared it for this window
        soon = observed.now + desired.failover.usage_every
        room = table.get(active, Room(active))
        over = [w for w in room.windows if w.resets_at is not None and (
            w.used >= at or (w.runs_out is not None and w.runs_out <= soon))]
        if not over:
            return
        window = max(over, key=lambda w: w.used)
        assert window.resets_at is not None  # noqa: S101  (filtered above)
        ahead = (f" and runs out at {window.runs_out.isoformat(timespec='minutes')} at "
                 f"{window.rate:.1f}%/h" if window.runs_out is not None and window.rate
                 else "")
        limits[active] = Limit(
            active, window.resets_at, f"preempt {window.name}",
            f"{window.used:g}% of the {window.name.replace('_', '-')} window used{ahead} "
            f"(preempt_at {at:g}%)", observed.now, window.source, None, "")
        state.record_limit_event({"event": "preempted", **limits[active].to_json()})

    def _act(self, desired: DesiredState, state: StateDir,
             decision: Decision) -> tuple[DesiredState, dict[str, str]]:
        """Swap when the policy says so: the desired state after this cycle (the file is
        rewritten as ``reconcile swap`` does it), and a swap that was refused (the
        target's home is missing, the file cannot be rewritten)."""
        if decision.action is not Move.SWAP or decision.to is None:
            return desired, {}
        try:
            _previous, updated = swap_active_account(desired.source, decision.to,
                                                     reason=decision.reason, state=state)
        except DesiredStateError as exc:
            why = "; ".join(p.message for p in exc.problems)
            self.say(f"failover: {decision.message}; cannot move to {decision.to}: {why}")
            return desired, {f"swap:{decision.to}": f"cannot move to {decision.to}: {why}"}
        self.say(f"failover: {decision.message}")
        return updated, {}
