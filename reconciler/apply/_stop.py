"""Remember and stop executors: the first half of moving a Claude.

* remember: every record of the batch in one fsynced write, before any stop, so a
  crash at any later point still relaunches the right session id.
* stop: each Claude is named by pid *and* start time and signalled through a pidfd
  (psutil's create-time check where the kernel has no pidfds), so a reused pid is never
  signalled. The verified panes' keyboards are held and their unread input flushed
  before the SIGTERM wave; one wait on every process; SIGKILL for whoever is left. The
  prompt each shell then draws is learned: nothing can have been typed at it. The panes
  stay held until their launch line is typed.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from reconciler.apply._context import ExecContext, Outcome, now_iso
from reconciler.apply._errors import TransientError
from reconciler.apply._keyboard import Watch, flush, hold, learn_prompts
from reconciler.observe import PaneFact, ProcessTable, read_stat
from reconciler.plan import AwaitTurn, RememberSession, StopClaude, still_a_prompt
from reconciler.statedir import LaunchRecord, TurnWait

KILL_GRACE = 3.0
PROMPT_TIMEOUT = 2.0


def remember_sessions(batch: Sequence[RememberSession], ctx: ExecContext) -> dict[str, Outcome]:
    ctx.state.update_panes(launches=[LaunchRecord(
        target=a.target, session_id=a.session_id, cwd=a.cwd, account=a.account,
        pending_relaunch=True, pid=a.pid, time=now_iso(), cut=a.cut, why=a.why)
        for a in batch])
    ctx.checkpoint(f"remembered {len(batch)} session(s)")
    return {a.key: True for a in batch}


def await_turns(batch: Sequence[AwaitTurn], ctx: ExecContext) -> dict[str, Outcome]:
    """Since when each waiting move waits, in one write (the bound counts from it)."""
    ctx.state.update_panes(waits=[TurnWait(a.target, a.pid, a.start, a.since) for a in batch])
    return {a.key: True for a in batch}


class _Handle(Protocol):
    def send(self, sig: signal.Signals) -> None: ...

    def close(self) -> None: ...


class _Pidfd:
    """A pidfd: signals reach exactly the process it was opened on, and it reads ready
    when that process exits."""

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def send(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            signal.pidfd_send_signal(self.fd, sig)

    def close(self) -> None:
        os.close(self.fd)


def _pidfds_work() -> bool:
    """pidfds need Linux 5.3; older kernels (RHEL 8's 4.18) get psutil's checks instead."""
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return True


PIDFDS = _pidfds_work()


def _claim(action: StopClaude, ctx: ExecContext) -> _Handle | None:
    """A handle on exactly the Claude the plan saw, or None when it is gone or the pid
    now names another process (then it is not ours to signal)."""
    stat = read_stat(action.pid)
    if stat is None or stat.start != action.start:
        return None
    if ProcessTable.lazy(ctx.identity).claude(action.pid) is None:
        return None
    if not PIDFDS:
        return _psutil_handle(action.pid)
    try:
        fd = os.pidfd_open(action.pid)
    except ProcessLookupError:
        return None
    again = read_stat(action.pid)  # the pid could have been reused before the pidfd held it
    if again is None or again.start != action.start:
        os.close(fd)
        return None
    return _Pidfd(fd)


class _Psutil:
    """psutil remembers the creation time and refuses to signal a reused pid."""

    def __init__(self, process: Any) -> None:
        self.process = process

    def send(self, sig: signal.Signals) -> None:
        import psutil  # noqa: PLC0415  (old kernels only)

        with contextlib.suppress(psutil.NoSuchProcess):
            self.process.send_signal(sig)

    def close(self) -> None:
        return None


def _psutil_handle(pid: int) -> _Handle | None:
    import psutil  # noqa: PLC0415

    try:
        return _Psutil(psutil.Process(pid))
    except psutil.NoSuchProcess:
        return None


def _wait(handles: Sequence[_Handle], timeout: float) -> set[int]:
    """Indexes of the handles whose process exited within ``timeout``."""
    if PIDFDS:
        return _wait_pidfds([h for h in handles if isinstance(h, _Pidfd)], timeout)
    import psutil  # noqa: PLC0415

    processes = [h.process for h in handles if isinstance(h, _Psutil)]
    gone, _alive = psutil.wait_procs(processes, timeout=timeout)
    return {i for i, p in enumerate(processes) if p in gone}


def _wait_pidfds(handles: Sequence[_Pidfd], timeout: float) -> set[int]:
    poller = select.poll()
    index = {h.fd: i for i, h in enumerate(handles)}
    for fd in index:
        poller.register(fd, select.POLLIN)
    done: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(done) < len(handles):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for fd, _event in poller.poll(int(left * 1000) + 1):
            done.add(index[fd])
            poller.unregister(fd)
    return done


def stop_claudes(batch: Sequence[StopClaude], ctx: ExecContext) -> dict[str, Outcome]:
    mine = {a.key: h for a in batch if (h := _claim(a, ctx)) is not None}
    outcomes: dict[str, Outcome] = {a.key: a.key in mine for a in batch}
    ours = [a for a in batch if a.key in mine]
    held = hold(ctx, [PaneFact("", 0, 0, 0, a.pane_id, a.shell_pid, "", tty=a.tty) for a in ours])
    try:
        for key in _terminate(ours, mine, ctx):
            outcomes[key] = TransientError("claude did not exit after SIGKILL")
    finally:
        for handle in mine.values():
            handle.close()
    ctx.checkpoint("stopped")
    stopped = [a for a in ours if outcomes[a.key] is True and a.pane_id in held]
    flush(a.tty for a in stopped)  # what the Claude left unread
    _learn_after_stop(stopped, ctx)
    return outcomes


def _terminate(ours: Sequence[StopClaude], handles: Mapping[str, _Handle],
               ctx: ExecContext) -> list[str]:
    """One SIGTERM wave, one wait, SIGKILL for the rest; the keys still alive after that."""
    order = [handles[a.key] for a in ours]
    for action in ours:
        handles[action.key].send(signal.SIGTERM)
        ctx.checkpoint(f"SIGTERM {action.target}")
    done = _wait(order, max((a.timeout for a in ours), default=0.0))
    left = [i for i in range(len(order)) if i not in done]
    for i in left:
        order[i].send(signal.SIGKILL)
    gone = _wait([order[i] for i in left], KILL_GRACE)
    return [ours[i].key for n, i in enumerate(left) if n not in gone]


def _learn_after_stop(stopped: Sequence[StopClaude], ctx: ExecContext) -> None:
    watches = {a.target: Watch(a.target, a.pane_id, a.shell_pid) for a in stopped}
    if not watches:
        return
    stored = ctx.state.read_panes().prompts
    learned = [record for record in learn_prompts(ctx, watches, PROMPT_TIMEOUT)
               if still_a_prompt(ctx.prompt_for(record.target, record.shell_pid, stored),
                                 record.prompt)]
    if learned:
        ctx.learned(learned)
        ctx.state.update_panes(prompts=learned)
    ctx.checkpoint("prompts after stop")
