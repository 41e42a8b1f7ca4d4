"""Claude executors: remember, stop and launch, each for a whole batch at once.

* remember: every record of the batch in one fsynced write, before any stop.
* stop: the process is named by pid *and* start time and signalled through a pidfd
  (psutil where the kernel has none), so a reused pid is never signalled; one SIGTERM
  wave, one wait on every pidfd, SIGKILL for whoever is left. Then, where nobody was
  attached, the prompt the shell draws is learned for the relaunch.
* launch: checked again at the last moment (the one process table, the pane's line),
  then typed under a tmux condition the server checks in the same step as the keys
  (pane, cursor and mode unchanged); one chained call for the batch, one shared wait.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import time
from collections.abc import Sequence
from dataclasses import replace

from reconciler import tmux
from reconciler.apply._context import ExecContext, Outcome, now_iso
from reconciler.apply._errors import ActionError, RefusedError, TransientError
from reconciler.apply._prompts import Watch, learn_prompts
from reconciler.claudecode import launch_line
from reconciler.observe import (
    PaneFact,
    ProcessTable,
    TmuxStatus,
    capture_panes,
    cursor_line,
    observe_tmux,
    read_stat,
)
from reconciler.plan import LaunchClaude, RememberSession, StopClaude, typing_blocker
from reconciler.statedir import LaunchRecord, PromptRecord

KILL_GRACE = 3.0
POLL = 0.02
PROMPT_TIMEOUT = 2.0


def remember_sessions(batch: Sequence[RememberSession], ctx: ExecContext) -> dict[str, Outcome]:
    ctx.state.update_panes(launches=[LaunchRecord(
        target=a.target, session_id=a.session_id, cwd=a.cwd, account=a.account,
        pending_relaunch=True, pid=a.pid, time=now_iso()) for a in batch])
    ctx.checkpoint(f"remembered {len(batch)} session(s)")
    return {a.key: True for a in batch}


# -- stop ------------------------------------------------------------------------------

def _open(action: StopClaude, ctx: ExecContext) -> int | None:
    """A pidfd for exactly the Claude the plan saw, or None when it is gone or the pid now
    names another process (then it is not ours to signal)."""
    table = ProcessTable.lazy(ctx.identity)
    stat = read_stat(action.pid)
    if stat is None or stat.start != action.start or table.claude(action.pid) is None:
        return None
    try:
        fd = os.pidfd_open(action.pid)
    except ProcessLookupError:
        return None
    again = read_stat(action.pid)  # the pid could have been reused before the pidfd held it
    if again is None or again.start != action.start:
        os.close(fd)
        return None
    return fd


def _wait(fds: Sequence[int], timeout: float) -> set[int]:
    """The pidfds whose process exited within ``timeout`` (a pidfd reads ready then)."""
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    done: set[int] = set()
    deadline = time.monotonic() + timeout
    while len(done) < len(fds):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        for fd, _event in poller.poll(int(left * 1000) + 1):
            done.add(fd)
            poller.unregister(fd)
    return done


def _pidfds_work() -> bool:
    """pidfds need Linux 5.3; older kernels (RHEL 8's 4.18) get psutil's polling instead."""
    try:
        os.close(os.pidfd_open(os.getpid()))
    except (AttributeError, OSError):
        return False
    return True


PIDFDS = _pidfds_work()


def stop_claudes(batch: Sequence[StopClaude], ctx: ExecContext) -> dict[str, Outcome]:
    outcomes = _stop_with_pidfds(batch, ctx) if PIDFDS else _stop_with_psutil(batch, ctx)
    ctx.checkpoint("stopped")
    _learn_after_stop([a for a in batch if outcomes.get(a.key) is True], ctx)
    return outcomes


def _stop_with_pidfds(batch: Sequence[StopClaude], ctx: ExecContext) -> dict[str, Outcome]:
    outcomes: dict[str, Outcome] = {}
    fds: dict[str, int] = {}
    try:
        for action in batch:
            fd = _open(action, ctx)
            outcomes[action.key] = fd is not None
            if fd is not None:
                fds[action.key] = fd
                with contextlib.suppress(ProcessLookupError):
                    signal.pidfd_send_signal(fd, signal.SIGTERM)
                ctx.checkpoint(f"SIGTERM {action.target}")
        done = _wait(list(fds.values()), max((a.timeout for a in batch), default=0.0))
        left = [fd for fd in fds.values() if fd not in done]
        for fd in left:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(fd, signal.SIGKILL)
        gone = _wait(left, KILL_GRACE)
        for key, fd in fds.items():
            if fd in left and fd not in gone:
                outcomes[key] = TransientError("claude did not exit after SIGKILL")
    finally:
        for fd in fds.values():
            os.close(fd)
    return outcomes


def _stop_with_psutil(batch: Sequence[StopClaude], ctx: ExecContext) -> dict[str, Outcome]:
    """The same wave without pidfds: psutil remembers each process's creation time and
    refuses to signal a pid that has been reused since."""
    import psutil  # noqa: PLC0415  (old kernels only)

    outcomes: dict[str, Outcome] = {}
    procs: dict[str, psutil.Process] = {}
    for action in batch:
        table = ProcessTable.lazy(ctx.identity)
        stat = read_stat(action.pid)
        outcomes[action.key] = False
        if stat is None or stat.start != action.start or table.claude(action.pid) is None:
            continue
        try:
            process = psutil.Process(action.pid)
            process.terminate()
        except psutil.NoSuchProcess:
            continue
        procs[action.key], outcomes[action.key] = process, True
        ctx.checkpoint(f"SIGTERM {action.target}")
    _gone, alive = psutil.wait_procs(list(procs.values()),
                                     timeout=max((a.timeout for a in batch), default=0.0))
    for process in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            process.kill()
    _gone, stuck = psutil.wait_procs(alive, timeout=KILL_GRACE)
    for key, process in procs.items():
        if process in stuck:
            outcomes[key] = TransientError("claude did not exit after SIGKILL")
    return outcomes


def _learn_after_stop(stopped: Sequence[StopClaude], ctx: ExecContext) -> None:
    watches = {a.target: Watch(a.target, a.pane_id, a.shell_pid, a.quiet_mark)
               for a in stopped if a.quiet_mark is not None}
    if not watches:
        return
    learned = learn_prompts(ctx, watches, PROMPT_TIMEOUT)
    if learned:
        ctx.learned(learned)
        ctx.state.update_panes(prompts=learned)
    ctx.checkpoint("prompts after stop")


# -- launch ----------------------------------------------------------------------------

def _buffer(pane_id: str) -> str:
    return f"reconciler-{pane_id.lstrip('%')}"


def _typing(pane: PaneFact, line: str) -> list[list[str]]:
    """The line goes into a paste buffer (argv: no quoting by tmux), and is pasted only if
    the pane is still as checked: same shell, no mode, cursor where it was."""
    facts = pane.input
    unchanged = tmux.fmt_all(
        tmux.fmt_eq("pane_pid", pane.pane_pid), tmux.fmt_eq("pane_in_mode", 0),
        tmux.fmt_eq("pane_dead", 0), tmux.fmt_eq("pane_input_off", 0),
        tmux.fmt_eq("pane_synchronized", 0), tmux.fmt_eq("cursor_x", facts.cursor_x),
        tmux.fmt_eq("cursor_y", facts.cursor_y))
    pane_id, buffer = pane.pane_id, _buffer(pane.pane_id)
    then = (f"paste-buffer -d -b {buffer} -t {pane_id} ; send-keys -t {pane_id} Enter ; "
            f"display-message -p -t {pane_id} 'typed:#{{pane_id}}'")
    otherwise = f"delete-buffer -b {buffer}"
    return [["set-buffer", "-b", buffer, "--", line],
            tmux.if_format(pane_id, unchanged, then, otherwise)]


def _same_dir(a: str | None, b: os.PathLike[str] | str) -> bool:
    return a is not None and os.path.realpath(a) == os.path.realpath(b)


def _check(action: LaunchClaude, pane: PaneFact | None, table: ProcessTable,
           ctx: ExecContext) -> Outcome | PaneFact:
    """The pane, refreshed from the process table, or the outcome when nothing is typed."""
    if pane is None:
        return TransientError(f"no pane for {action.target}")
    if pane.session_name != action.session_name:
        return ActionError(f"pane {pane.pane_id} is no longer in {action.session_name}")
    if action.shell_pid is not None and pane.pane_pid != action.shell_pid:
        return RefusedError(f"{action.target}: its shell changed since the plan")
    found = table.pane(pane.pane_pid)
    if found.claude is not None:
        if _same_dir(found.claude.config_dir, action.home):
            return False
        return RefusedError(f"{action.target} already runs claude pid {found.claude.pid}")
    return replace(pane, shell=found.shell, foreground=found.foreground, others=found.others)


def launch_claudes(batch: Sequence[LaunchClaude], ctx: ExecContext) -> dict[str, Outcome]:
    fact = observe_tmux(ctx.server)
    if fact.status is not TmuxStatus.UP:
        raise TransientError(f"tmux: {fact.error}")
    by_id = {p.pane_id: p for p in fact.panes}
    first = {p.session_name: p for p in fact.panes if p.ordinal == 0}
    table = ProcessTable.lazy(ctx.identity)
    outcomes: dict[str, Outcome] = {}
    candidates: list[tuple[LaunchClaude, PaneFact]] = []
    for action in batch:
        pane = by_id.get(action.pane_id) if action.pane_id else first.get(action.session_name)
        checked = _check(action, pane, table, ctx)
        if isinstance(checked, PaneFact):
            candidates.append((action, checked))
        else:
            outcomes[action.key] = checked
    texts = capture_panes(ctx.server, [p for _a, p in candidates], to_cursor=True)
    stored = ctx.state.read_panes().prompts
    commands: list[list[str]] = []
    typing: list[tuple[LaunchClaude, PaneFact, str]] = []
    for action, checked in candidates:
        text = texts.get(checked.pane_id)
        pane = replace(checked, line=cursor_line(text) if text is not None else None)
        prompt = ctx.prompt_for(action.target, pane.pane_pid, stored)
        blocker = typing_blocker(pane, prompt)
        if blocker is not None or prompt is None:
            outcomes[action.key] = RefusedError(blocker or "no known prompt")
            continue
        line = launch_line(command=action.command, home=action.home, cwd=action.cwd,
                           session=action.session_id, resume=action.resume,
                           env=ctx.desired.launch.env)
        commands += _typing(pane, line)
        typing.append((action, pane, prompt))
    typed = _type(ctx, commands) if commands else set()
    waiting = []
    for action, pane, prompt in typing:
        if pane.pane_id in typed:
            waiting.append((action, pane, prompt))
        else:
            outcomes[action.key] = RefusedError(
                f"{action.target} changed between the check and the typing (a key, a mode, "
                "a new shell); nothing was typed")
    outcomes.update(_await_claudes(waiting, ctx))
    return outcomes


def _type(ctx: ExecContext, commands: list[list[str]]) -> set[str]:
    try:
        out = tmux.chained(ctx.server, commands)
    except tmux.TmuxError as exc:
        out = exc.stdout  # panes before the failing chunk were typed into
    ctx.checkpoint("typed")
    return {line.removeprefix("typed:") for line in out.splitlines() if line.startswith("typed:")}


def _await_claudes(waiting: list[tuple[LaunchClaude, PaneFact, str]],
                   ctx: ExecContext) -> dict[str, Outcome]:
    """One shared wait for every typed launch; records and prompts land in one write."""
    outcomes: dict[str, Outcome] = {}
    records: list[LaunchRecord] = []
    prompts: list[PromptRecord] = []
    deadline = time.monotonic() + max((a.start_timeout for a, _p, _l in waiting), default=0)
    left = list(waiting)
    while left and time.monotonic() < deadline:
        time.sleep(POLL)
        table = ProcessTable.lazy(ctx.identity)
        for item in list(left):
            action, pane, prompt = item
            claude = table.pane(pane.pane_pid).claude
            if claude is not None and _same_dir(claude.config_dir, action.home):
                outcomes[action.key] = True
                records.append(LaunchRecord(
                    target=action.target, session_id=action.session_id, cwd=action.cwd,
                    account=action.account, pid=claude.pid, time=now_iso()))
                prompts.append(PromptRecord(action.target, pane.pane_pid, prompt, now_iso()))
                left.remove(item)
    if records:
        ctx.state.update_panes(launches=records, prompts=prompts)
        ctx.checkpoint(f"launched {len(records)} claude(s)")
    for action, pane, _prompt in left:
        outcomes[action.key] = ActionError(
            f"claude did not start in {action.target} within {action.start_timeout:g}s; "
            f"pane says: {_last_line(ctx, pane)}")
    return outcomes


def _last_line(ctx: ExecContext, pane: PaneFact) -> str:
    text = capture_panes(ctx.server, [pane.pane_id], lines=5).get(pane.pane_id, "")
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else "(no output)"
