"""tmux and Claude-process executors.

tmux is driven with plain argv (no shell); the only text typed into a shell is
the launch line, whose every value was quoted by the planner.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import psutil

from reconciler.apply._errors import ActionError, TransientError
from reconciler.claudecode import CONFIG_ENV, is_claude_argv
from reconciler.desired import DesiredState
from reconciler.observe import run_tmux
from reconciler.plan import CreateSession, KillSession, LaunchClaude, RememberSession, StopClaude
from reconciler.statedir import LaunchRecord, StateDir

CHANGED, OK = True, False
_SETTLE = 3.0


def tmux(desired: DesiredState, *args: str) -> str:
    """Run tmux on the desired server; a failure is worth a retry (server busy or restarting)."""
    try:
        done = run_tmux(desired.tmux, *args)
    except (OSError, TimeoutError) as exc:
        raise TransientError(f"tmux {args[0]}: {exc}") from exc
    if done.returncode != 0:
        raise TransientError(f"tmux {args[0]}: {done.stderr.strip() or done.returncode}")
    return done.stdout


def _has_session(desired: DesiredState, name: str) -> bool:
    return run_tmux(desired.tmux, "has-session", "-t", f"={name}").returncode == 0


def create_session(desired: DesiredState, action: CreateSession) -> bool:
    if _has_session(desired, action.name):
        return OK
    tmux(desired, "new-session", "-d", "-s", action.name, "-c", str(action.cwd),
         "-x", "200", "-y", "50")
    return CHANGED


def kill_session(desired: DesiredState, action: KillSession) -> bool:
    if not _has_session(desired, action.name):
        return OK
    tmux(desired, "kill-session", "-t", f"={action.name}")
    return CHANGED


def _now() -> str:
    return datetime.now(UTC).isoformat()


def remember(state: StateDir, action: RememberSession) -> bool:
    state.write_record(LaunchRecord(
        target=action.target, session_id=action.session_id, cwd=action.cwd,
        account=action.account, pending_relaunch=True, pid=action.pid, time=_now(),
    ))
    return CHANGED


def _process(pid: int) -> psutil.Process | None:
    try:
        process = psutil.Process(pid)
        return process if is_claude_argv(process.cmdline()) else None
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def stop_claude(action: StopClaude) -> bool:
    """SIGTERM, wait, SIGKILL: Claude prints its resume hint and the shell stays."""
    process = _process(action.pid)
    if process is None:
        return OK
    try:
        process.terminate()
        _gone, alive = psutil.wait_procs([process], timeout=action.timeout)
        for straggler in alive:
            straggler.kill()
        psutil.wait_procs(alive, timeout=_SETTLE)
    except psutil.NoSuchProcess:
        pass
    return CHANGED


def _pane_pid(desired: DesiredState, pane: str, session: str) -> int:
    """The pane's shell pid, after checking the pane is still in ``session``: pane ids
    are reused when a tmux server restarts, and typing into a stranger's pane is wrong."""
    out = tmux(desired, "display-message", "-p", "-t", pane, "#{session_name} #{pane_pid}")
    name, _, pid = out.strip().rpartition(" ")
    if name != session:
        raise ActionError(f"pane {pane} is no longer in session {session}")
    if not pid.isdigit():
        raise TransientError(f"no pid for pane {pane}")
    return int(pid)


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        raise TransientError(f"pane shell {pid} is gone") from None


def _is_claude(process: psutil.Process) -> bool:
    try:
        return is_claude_argv(process.cmdline())
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return False


def _claude_in(pid: int) -> tuple[psutil.Process | None, bool]:
    """(the outermost Claude under the pane shell, whether anything else runs there)."""
    children = _children(pid)
    claudes = [c for c in children if _is_claude(c)]
    pids = {c.pid for c in claudes}
    claude = next((c for c in claudes if c.ppid() not in pids), None)
    inside: set[int] = set()
    if claude is not None:
        try:
            inside = {claude.pid, *(c.pid for c in claude.children(recursive=True))}
        except psutil.NoSuchProcess:
            claude = None
    return claude, any(c.pid not in inside for c in children)


def _config_dir(process: psutil.Process) -> str | None:
    try:
        return process.environ().get(CONFIG_ENV)
    except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
        return None


def _first_pane(desired: DesiredState, session: str) -> str:
    out = tmux(desired, "list-panes", "-s", "-t", f"={session}", "-F", "#{pane_id}")
    panes = out.split()
    if not panes:
        raise TransientError(f"session {session} has no pane")
    return panes[0]


def launch_claude(desired: DesiredState, state: StateDir, action: LaunchClaude) -> bool:
    pane = action.pane_id or _first_pane(desired, action.session_name)
    shell = _pane_pid(desired, pane, action.session_name)
    home = str(desired.account(action.account).home)
    deadline = time.monotonic() + _SETTLE
    while True:
        claude, other = _claude_in(shell)
        if claude is not None:
            if _config_dir(claude) == home:
                record_launch(state, action, claude.pid)
                return OK
            raise ActionError(f"{action.target} already runs claude pid {claude.pid} elsewhere")
        if not other:
            break
        if time.monotonic() >= deadline:
            raise ActionError(f"{action.target} runs another program; not typing into it")
        time.sleep(0.05)
    tmux(desired, "send-keys", "-t", pane, "-l", action.line, ";", "send-keys", "-t", pane, "Enter")
    deadline = time.monotonic() + action.start_timeout
    while time.monotonic() < deadline:
        claude, _other = _claude_in(shell)
        if claude is not None:
            record_launch(state, action, claude.pid)
            return CHANGED
        time.sleep(0.05)
    tail = tmux(desired, "capture-pane", "-p", "-J", "-t", pane, "-S", "-5").strip()
    last = tail.splitlines()[-1] if tail else "(no output)"
    raise ActionError(f"claude did not start in {action.target} within "
                      f"{action.start_timeout:g}s; pane says: {last}")


def record_launch(state: StateDir, action: LaunchClaude, pid: int) -> None:
    state.write_record(LaunchRecord(
        target=action.target, session_id=action.session_id, cwd=action.cwd,
        account=action.account, pending_relaunch=False, pid=pid, time=_now(),
    ))
