"""The measures that move Claudes: a converge from nothing and a swap under the service,
each against a floor done by hand in the same run with the fewest steps the machine
allows."""

from __future__ import annotations

import contextlib
import json
import os
import select
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench._harness import (
    REPO,
    LaunchLog,
    Timing,
    build,
    cycles,
    down,
    environ,
    launched,
    live_standins,
    reconcile,
    service,
    stop,
    tmux,
    wait_until,
)
from reconciler.demo import Sandbox
from reconciler.tmux import chunked

SHARED = ("projects", "file-history", "session-env", "todos")


def _line(box: Sandbox, account: str, flag: str, session_id: str) -> str:
    """What a person types to start the stand-in on ``account`` (a leading space keeps
    it out of the shell's history, as ours does)."""
    home = box.account_home(account)
    return (f" CLAUDE_CONFIG_DIR={shlex.quote(str(home))} {shlex.quote(str(box.bin_dir))}/claude"
            f" --dangerously-skip-permissions {flag} {session_id}")


def _links(box: Sandbox, account: str) -> None:
    """The links a converge makes: shared dirs, each home's entries, the active link."""
    shared = box.home / ".claude-shared"
    for entry in SHARED:
        (shared / entry).mkdir(parents=True, exist_ok=True)
    for name in ("work", "personal"):
        for entry in SHARED:
            link = box.account_home(name) / entry
            if not link.is_symlink():
                link.symlink_to(shared / entry)
    _flip(box, account)


def _flip(box: Sandbox, account: str) -> None:
    temp = box.home / ".claude.bench-tmp"
    temp.symlink_to(box.account_home(account))
    temp.replace(box.home / ".claude")


def converge(size: int, runs: int, root: Path, peers: bool) -> dict[str, Any]:
    """``reconcile apply`` from nothing (no server, no links, no records) to ``size``
    sessions each running its Claude, as a whole process; the floor makes the same links
    and sends one chained tmux invocation creating the sessions and typing each launch
    line, then waits for every Claude to start. Runs alternate between the two."""
    ours, floor = Timing(), Timing()
    for run in range(runs):
        for name, timing, fn in (("ours", ours, _converge_ours), ("floor", floor, _by_hand)):
            box = build(root / f"{name}-{run}", claudes=size)
            try:
                timing.samples.append(fn(box, size))
            finally:
                down(box)
    out: dict[str, Any] = {"ours": ours, "floor": floor}
    if peers:
        out["peer_tmuxp_load"] = _peer(root, "tmuxp", size, runs, _tmuxp)
        out["peer_libtmux_each"] = _peer(root, "libtmux", size, runs, _libtmux)
    return out


def _converge_ours(box: Sandbox, size: int) -> float:
    """Until every stand-in logged its start, as the floor: the applier returns once it
    sees each Claude's process, which may be a moment before its start is logged."""
    started = time.perf_counter()
    done = reconcile(box, "apply")
    wait_until(lambda: launched(box) >= size, 300)
    seconds = time.perf_counter() - started
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return seconds


def _by_hand(box: Sandbox, size: int) -> float:
    log = LaunchLog(box)
    started = time.perf_counter()
    _links(box, "work")
    commands: list[list[str]] = []
    for i in range(size):
        commands += [["new-session", "-d", "-s", f"d{i}", "-c", str(box.home / f"src/d{i}")],
                     ["send-keys", "-t", f"d{i}", "-l",
                      _line(box, "work", "--session-id", str(uuid.uuid4()))],
                     ["send-keys", "-t", f"d{i}", "Enter"]]
    for chunk in chunked(commands):
        assert tmux(box, *chunk).returncode == 0
    wait_until(lambda: log.count("work") >= size, 300)
    return time.perf_counter() - started


def _peer(root: Path, name: str, size: int, runs: int,
          fn: Callable[[Sandbox, int], float | None]) -> Timing | str:
    timing = Timing()
    for run in range(runs):
        box = build(root / f"{name}-{run}", claudes=size)
        try:
            seconds = fn(box, size)
        finally:
            down(box)
        if seconds is None:
            return f"skipped: {name} not installed"
        timing.samples.append(seconds)
    return timing


def _tmuxp(box: Sandbox, size: int) -> float | None:
    """tmuxp loading one workspace per session, each pane typing its launch line."""
    tmuxp = shutil.which("tmuxp")
    if tmuxp is None:
        return None
    files = []
    for i in range(size):
        path = box.root / f"tmuxp-d{i}.json"
        path.write_text(json.dumps({
            "session_name": f"d{i}", "start_directory": str(box.home / f"src/d{i}"),
            "windows": [{"window_name": "w", "panes": [{"shell_command": [
                _line(box, "work", "--session-id", str(uuid.uuid4()))]}]}]}))
        files.append(str(path))
    log = LaunchLog(box)
    env = {**box.env(), "TMUX": ""}
    started = time.perf_counter()
    _links(box, "work")
    subprocess.run([tmuxp, "load", "-d", "-y", "--no-progress", "-L", box.socket_name, *files],
                   capture_output=True, check=False, timeout=300, env=env, cwd=REPO)
    wait_until(lambda: log.count("work") >= size, 300)
    return time.perf_counter() - started


def _libtmux(box: Sandbox, size: int) -> float | None:
    """libtmux creating each session and typing into its pane."""
    try:
        import libtmux
    except ImportError:
        return None
    log = LaunchLog(box)
    with environ(box.env()):  # the server it starts sees the sandbox only
        started = time.perf_counter()
        _links(box, "work")
        server = libtmux.Server(socket_name=box.socket_name)
        for i in range(size):
            session = server.new_session(session_name=f"d{i}",
                                         start_directory=str(box.home / f"src/d{i}"))
            session.active_pane.send_keys(_line(box, "work", "--session-id", str(uuid.uuid4())))
        wait_until(lambda: log.count("work") >= size, 300)
        return time.perf_counter() - started


def swap(box: Sandbox, claudes: int, runs: int) -> dict[str, Any]:
    """An edit of ``active_account`` -> every Claude relaunched on the other account, with
    ``reconcile run`` watching (ours); then, the service stopped, the hand floor on the
    same panes: one SIGTERM wave through pidfds, one wait on them, the link flipped, one
    chained send-keys of every resume line, until every stand-in logged its start."""
    accounts = ("work", "personal")
    ours = Timing()
    process = service(box)
    try:
        wait_until(lambda: cycles(box, process.pid) >= 1, 120, 0.05)
        for run in range(runs):
            target, current = accounts[(run + 1) % 2], accounts[run % 2]
            log = LaunchLog(box)
            text = box.desired_path.read_text().replace(
                f"active_account: {current}", f"active_account: {target}", 1)
            before = cycles(box, process.pid)
            started = time.perf_counter()
            _write_atomic(box.desired_path, text)
            wait_until(lambda t=target, lg=log: lg.count(t) >= claudes, 300)
            ours.samples.append(time.perf_counter() - started)
            wait_until(lambda b=before: cycles(box, process.pid) > b, 120, 0.02)  # cycle over
    finally:
        stop(process)
    floor = Timing()
    for run in range(runs):
        floor.samples.append(_swap_by_hand(box, accounts[(runs + run) % 2], claudes))
    return {"ours": ours, "floor": floor}


def _write_atomic(path: Path, text: str) -> None:
    """As an editor saves (and as ``reconcile swap`` does): a new file renamed over."""
    temp = path.with_name(f".{path.name}.bench")
    temp.write_text(text)
    temp.replace(path)


def _swap_by_hand(box: Sandbox, target: str, claudes: int) -> float:
    rows = live_standins(box)
    assert len(rows) == claudes, rows
    panes = {str(box.home / f"src/d{i}"): f"d{i}" for i in range(claudes)}
    log = LaunchLog(box)
    started = time.perf_counter()
    fds = [os.pidfd_open(int(str(row["pid"]))) for row in rows.values()]
    try:
        for fd in fds:
            with contextlib.suppress(ProcessLookupError):
                signal.pidfd_send_signal(fd, signal.SIGTERM)
        _flip(box, target)
        poller = select.poll()
        for fd in fds:
            poller.register(fd, select.POLLIN)
        left = set(fds)
        while left:
            for fd, _event in poller.poll(30_000):
                left.discard(fd)
                poller.unregister(fd)
    finally:
        for fd in fds:
            os.close(fd)
    commands: list[list[str]] = []
    for cwd, row in rows.items():
        commands += [["send-keys", "-t", panes[cwd], "-l",
                      _line(box, target, "--resume", str(row["session_id"]))],
                     ["send-keys", "-t", panes[cwd], "Enter"]]
    for chunk in chunked(commands):
        assert tmux(box, *chunk).returncode == 0
    wait_until(lambda: log.count(target) >= claudes, 300)
    return time.perf_counter() - started
