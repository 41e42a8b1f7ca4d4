"""``reconcile run``: observe, plan, apply (or only report), alert; again and again.

The loop keeps the last valid desired state when an edit is broken, notices an
edit as it is saved (inotify, a stat poll where there is none: ``_watch``), finishes
the action in flight on SIGTERM/SIGINT and reloads on SIGHUP.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from types import FrameType

from reconciler import segment
from reconciler.alerts import Alert, AlertBook, Deliveries, Dispatcher, build_sinks
from reconciler.apply import Report, Result, Status, apply_plan, state_lock
from reconciler.desired import (
    DesiredState,
    DesiredStateError,
    ServiceSpec,
    load_desired_bytes,
    read_desired_bytes,
)
from reconciler.failover import Failover, Verdict
from reconciler.observe import Observed, observe, with_turns
from reconciler.plan import LaunchClaude, Plan
from reconciler.plan import plan as make_plan
from reconciler.service._crashloop import CrashLoops
from reconciler.service._drift import drift_items
from reconciler.service._metrics import account_gauges, write_metrics
from reconciler.service._wakes import Wakes
from reconciler.service._watch import Watcher
from reconciler.signals import SignalDir
from reconciler.statedir import StateDir, file_identity, now_iso
from reconciler.usage import UsagePoller, plan_of

Say = Callable[[str], None]
Wing = Callable[[DesiredState, StateDir, Observed], Verdict]
"""The failover wing, between observe and plan: the limits, the decision, the desired
state after its swap (if it swapped), and its conditions (alert kind -> subjects)."""


@dataclass
class CycleOutcome:
    plan: Plan
    report: Report | None
    drift: dict[str, str]
    alerts: list[Alert] = field(default_factory=list)
    held: dict[str, str] = field(default_factory=dict)


def _hold_launches(plan: Plan, held: dict[str, str]) -> Plan:
    """Leave out launches in crash-loop back-off; the planner stays pure."""
    if not held:
        return plan
    keep = tuple(a for a in plan.actions
                 if not (isinstance(a, LaunchClaude) and a.target in held))
    return replace(plan, actions=keep)


class Service:
    def __init__(self, path: Path, state_dir: Path, *, say: Say,
                 interval: float | None = None, lock_timeout: float | None = None,
                 wing: Wing | None = None) -> None:
        self.path = path
        self.state = StateDir(state_dir)
        self.say = say
        self.interval_override = interval
        self.lock_timeout = lock_timeout
        self.wing: Wing = wing or Failover(say=say)
        self.poller = UsagePoller(state_dir, say)
        """Each account's usage from the usage endpoint, in its own thread."""
        self.book = AlertBook(self.state)
        self.desired: DesiredState | None = None
        self.config = ServiceSpec()
        self.dispatcher = Deliveries(Dispatcher([], log_line=say))
        self.cycles = 0
        self.started = now_iso()
        self.noted: set[str] = set()
        self.crashes = CrashLoops(self.state, self.config.crashloop_window or 90.0,
                                  self.config.crashloop_max_backoff)
        self.stopping = False
        self.reload_requested = True
        self.seen: tuple[int, int, int] | None = None
        self.spool = SignalDir(self.state.root)
        self.watch = Watcher((path, self.state.limits_path), (self.spool.events_dir(),))
        self.wakes = Wakes()
        """What else ends a sleep early: a waiting Claude's turn, a bound, a reset."""
        self.settle = False
        """The desired file was loaded anew: the cycle records who is active (a change
        nobody recorded was a hand edit), under the lock `reconcile swap` holds while it
        writes and records its own."""
        self.limits_seen: tuple[int, int, int] | None = None
        """The limits as the last cycle left them (taken at its start too, so a cycle that
        fails cannot spin): a change since is ``limits clear`` or ``limits import``, and
        wakes the loop."""
        self.spool_seen: frozenset[str] = frozenset()
        """The spool at the last cycle's start: an event that stays (unreadable, or
        failing) wakes the loop once, not at every tick."""
        self.by_result: dict[str, int] = {s.value: 0 for s in Status}
        self.swaps = 0
        self.last_converge = 0
        self.observed: Observed | None = None
        """The last cycle's world, for the per-account gauges."""
        self.last_outcome: CycleOutcome | None = None
        """For ``run --once --json``."""

    @property
    def interval(self) -> float:
        return self.interval_override or self.config.interval

    def _emit(self, alerts: list[Alert]) -> None:
        for alert in alerts:
            self.dispatcher.send(alert)

    def reload(self) -> None:
        """Load the desired file; a broken edit alerts and keeps the last valid state."""
        self.reload_requested = False
        self.seen = file_identity(self.path)
        try:
            raw = read_desired_bytes(self.path)
            desired = load_desired_bytes(self.path, raw)
        except DesiredStateError as exc:
            first = exc.problems[0]
            kept = "keeping the last valid state" if self.desired else "nothing to run yet"
            self._emit(self.book.update("invalid_desired", {  # the path once: in the message
                "desired file": f"{first} ({len(exc.problems)} problem(s)); {kept}"}))
            return
        changed = self.desired is None or desired.digest != self.desired.digest
        self.desired = desired
        with contextlib.suppress(OSError):  # what status shows while an edit is broken
            kept = desired.redact(raw.decode(errors="replace"))  # no secret in the state dir
            self.state.write_last_valid(kept.encode())
        self.config = desired.service
        self.poller.configure(plan_of(desired) if desired.failover.enabled else None)
        sinks, problems = build_sinks(desired.alerts)
        self.dispatcher.close(timeout=0)  # the old sinks' worker delivers what it has
        self.dispatcher = Deliveries(Dispatcher(sinks, log_line=self.say,
                                                secrets=desired.secrets))
        self.book.redact = desired.redact
        for problem in problems:
            self.say(f"warning: {problem}")
        self.crashes.window = self.config.crashloop_window or 3 * self.interval
        self.crashes.max_backoff = self.config.crashloop_max_backoff
        self.settle = True  # under the state lock, at the cycle: `swap` holds it too
        self._emit(self.book.update("invalid_desired", {}))
        if changed:
            self.say(f"desired state loaded: {self.path} (active {desired.active_account})")

    def _record_hand_swap(self, new: DesiredState) -> None:
        try:
            previous = self.state.settle_active(new.active_account)
        except OSError as exc:  # the history is worth less than the loop
            self.say(f"active account not recorded: {exc}")
            return
        if previous is not None:
            self.say(f"swap by hand: {previous} -> {new.active_account}")

    def cycle(self) -> CycleOutcome | None:
        """One observe, one failover verdict, one plan, one apply: a limit found in this
        cycle is already a move in its plan (the swap rewrites the desired file, and the
        loop goes on with the state it wrote, never reading its own decision back)."""
        self.spool_seen = self.spool.event_names()
        self.limits_seen = file_identity(self.state.limits_path)
        if self._edited():
            self.reload()
        desired = self.desired
        if desired is None:
            return None
        with state_lock(self.state.lock_path, timeout=self.lock_timeout, on_wait=self.say):
            if self.settle:
                self.settle = False
                self._record_hand_swap(desired)
            observed = observe(desired, self.state, screens=True)
            # The wing reads and writes the limits under the same lock as `limits clear`
            # and `limits import`, so a clear made during a cycle is never written over.
            verdict = self.wing(desired, self.state, observed)
            if verdict.desired is not desired:
                desired = self.desired = verdict.desired
                self.seen = file_identity(self.path)  # our own write: not an edit
            observed = self.observed = with_turns(replace(
                observed, limits=verdict.limits, active=self.state.read_active()), desired)
            self._summarise(desired, verdict)
            self.crashes.observe(observed)
            held = self.crashes.held(observed.now)
            the_plan = _hold_launches(make_plan(desired, observed), held)
            for note in the_plan.notes:
                if note not in self.noted:
                    self.noted.add(note)
                    self.say(f"note: {note}")
            converged = self.state.read_converged()
            drift = drift_items(the_plan, desired, converged)
            alerts = self.book.update("drift", drift)
            report = None
            if drift and desired.drift.policy == "alert":
                self.say(f"drift: {len(drift)} item(s); policy is alert, nothing applied")
            elif the_plan.actions or the_plan.conflicts:
                report = apply_plan(the_plan, desired, self.state, on_result=self._on_result,
                                    should_stop=lambda: self.stopping)
                self.say(report.recap())
            reported_only = bool(drift) and report is None
            clean = ((report is None or report.ok) and not the_plan.conflicts and not held
                     and not the_plan.waiting)
            if clean and not reported_only:
                self.last_converge = int(time.time())
                if converged is None or converged.digest != desired.digest:
                    self.state.write_converged(desired.digest, desired.active_account)
            conditions = dict(verdict.conditions)
            conditions["stuck_session"] = {**conditions.get("stuck_session", {}),
                                           **self.wakes.in_a_mode(the_plan, observed,
                                                                  self.interval)}
            for kind, current in conditions.items():
                alerts += self.book.update(kind, current)
            self.limits_seen = file_identity(self.state.limits_path)  # our own write
        self.watch.files = (self.path, self.state.limits_path,
                            *self.wakes.after(the_plan, desired, verdict.limits.values()))
        alerts += self._after_apply(report, the_plan, observed.now)
        alerts += self.book.update("crashloop", self.crashes.looping())
        self._emit(alerts)
        return CycleOutcome(the_plan, report, drift, alerts, held)

    def _summarise(self, desired: DesiredState, verdict: Verdict) -> None:
        """The one line `status --format tmux` prints, for tmux to read every second."""
        room = verdict.rooms.get(desired.active_account)
        limit = verdict.limits.get(desired.active_account)
        try:
            self.state.write_segment(segment.leave(
                desired.active_account,
                {w.name: w.used for w in room.windows if w.used is not None} if room else {},
                limit.resets_at.timestamp() if limit is not None and not limit.preempted
                else None))
        except OSError as exc:  # advisory: never worth the loop
            self.say(f"summary not written: {exc}")

    def _guarded_cycle(self) -> CycleOutcome | None:
        """One cycle; whatever it throws (disk full, tmux hung, a bug) is logged and alerted,
        and the loop goes on. The same failure alerts once, and resolves when a cycle
        succeeds."""
        try:
            outcome = self.cycle()
        except Exception as exc:  # noqa: BLE001  (the loop outlives any one cycle)
            what = f"{type(exc).__name__}: {exc}"[:500]
            where = _origin(exc)
            self.say(f"cycle failed: {what}{where}")
            self._safe_emit("cycle_failed", {"cycle": what})
            return None
        finally:
            self.cycles += 1
            self._write_status()
        self._safe_emit("cycle_failed", {})
        return outcome

    def _write_status(self) -> None:
        """pid, start and last cycle, for ``status`` and for anyone waiting on a cycle."""
        try:
            self.state.write_service({"pid": os.getpid(), "started": self.started,
                                      "cycles": self.cycles, "last_cycle": now_iso(),
                                      "interval": self.interval})
        except Exception as exc:  # noqa: BLE001  (advisory: never worth the loop)
            self.say(f"service status not written: {exc}")

    def _safe_emit(self, kind: str, current: dict[str, str]) -> None:
        try:
            self._emit(self.book.update(kind, current))
        except Exception as exc:  # noqa: BLE001  (the state dir itself may be what is failing)
            if current:
                self.say(f"alert {kind} not recorded: {exc}")
                self._emit([Alert(kind, "firing", *next(iter(current.items())))])

    def _on_result(self, result: Result) -> None:
        self.by_result[result.status.value] += 1
        if result.status is not Status.OK:
            tail = f": {result.message}" if result.message else ""
            self.say(f"action {result.status.value} {result.action.description}{tail}")

    def _after_apply(self, report: Report | None, the_plan: Plan, now: datetime) -> list[Alert]:
        failed: dict[str, str] = {}
        if report is not None:
            for result in report.results:
                if result.status is Status.FAILED:
                    failed[result.action.key] = f"{result.action.description}: {result.message}"
                    if isinstance(result.action, LaunchClaude):
                        self.crashes.launch_failed(result.action.target, now)
        alerts = self.book.update("action_failed", failed)
        alerts += self.book.update("conflict", {c.key: c.message for c in the_plan.conflicts})
        return alerts

    def _write_metrics(self, seconds: float, drift: int) -> None:
        if self.config.metrics_file is None:
            return
        try:
            self._write_metrics_file(self.config.metrics_file, seconds, drift)
        except Exception as exc:  # noqa: BLE001  (advisory: never worth the loop)
            self.say(f"metrics not written: {exc}")

    def _write_metrics_file(self, path: Path, seconds: float, drift: int) -> None:
        accounts = (account_gauges(self.desired, self.state, self.observed)
                    if self.desired is not None and self.observed is not None else ())
        write_metrics(path, {
            "last_cycle_seconds": round(seconds, 3),
            "last_converge_timestamp_seconds": self.last_converge,
            "drift_items": drift, "swaps_total": self.state.count_swaps(),
            "crashloops": len(self.crashes.looping()), "alerts_firing": self.book.count(),
        }, self.by_result, accounts)

    def _edited(self) -> bool:
        """The desired file changed since it was loaded (an edit, a swap, failover)."""
        return self.reload_requested or file_identity(self.path) != self.seen

    def _sleep(self) -> None:
        """Sleep one interval, waking early for a stop, a reload, a desired-file edit, a
        signal Claude sent (a StopFailure event in the spool), a waiting Claude's turn
        ending, or the first bound of a wait."""
        deadline = self.wakes.deadline(time.monotonic() + self.interval)
        while not self.stopping and time.monotonic() < deadline:
            if self._edited():
                return
            if self.spool.event_names() - self.spool_seen:
                return
            if file_identity(self.state.limits_path) != self.limits_seen:
                return
            if self.wakes.turn_ended():
                return
            self.watch.wait(deadline - time.monotonic())

    def _signals(self) -> None:
        def stop(signum: int, _frame: FrameType | None) -> None:
            self.say(f"received {signal.Signals(signum).name}: finishing the current action")
            self.stopping = True
            self.watch.wake()

        def hup(_signum: int, _frame: FrameType | None) -> None:
            self.reload_requested = True
            self.watch.wake()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, hup)

    def run(self, *, once: bool = False) -> int:
        self.watch.open()  # before the handlers: a signal always ends the next wait
        if not once:
            self.poller.start()
        try:
            return self._run(once=once)
        except KeyboardInterrupt:
            self.say("interrupted (Ctrl-C before the service took signals): stopped")
            raise
        finally:
            self.poller.stop()
            self.dispatcher.close()
            self.watch.close()
            if self.stopping:  # SIGTERM, SIGINT (Ctrl-C): the line a person looks for
                self.say(f"stopped after {self.cycles} cycle(s)")

    def _run(self, *, once: bool) -> int:
        self._signals()
        # One service per state dir: a second one exits at once (LockTimeoutError, told
        # by the CLI) rather than wait where SIGTERM cannot reach it.
        with state_lock(self.state.service_lock_path, timeout=0):
            self.say(f"reconcile run: pid {os.getpid()}, state {self.state.root}")
            if once:  # a cron run reads the usage that is due before its one cycle
                self.reload()
                self.poller.step()
            while not self.stopping:
                started = time.monotonic()
                outcome = self.last_outcome = self._guarded_cycle()
                self._write_metrics(time.monotonic() - started,
                                    len(outcome.drift) if outcome else 0)
                if once:
                    ok = outcome is not None and (outcome.report is None or outcome.report.ok)
                    return 0 if ok else 1
                self._sleep()
        return 0


def _origin(exc: BaseException) -> str:
    """`` (at file:line)`` of the innermost frame, for a bug report; no traceback."""
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    if tb is None:
        return ""
    return f" (at {Path(tb.tb_frame.f_code.co_filename).name}:{tb.tb_lineno})"
