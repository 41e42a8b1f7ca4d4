"""The measures that read a world: observe+plan in-process, whole processes, the idle
service. Each returns ours and its baselines, all from the same run."""

from __future__ import annotations

import os
import subprocess
import time
from typing import Any

from bench._harness import (
    REPO,
    Timing,
    bare,
    cpu_ticks,
    cycles,
    environ,
    python,
    reconcile,
    rss_mb,
    server_pid,
    service,
    stop,
    timed,
    tmux,
    wait_until,
)
from reconciler.demo import Sandbox


def observe_plan(box: Sandbox, runs: int, peers: bool) -> dict[str, Any]:
    """One service cycle's reading and thinking, in-process, on a converged world; the
    floor is what no observer can skip: one ``list-panes -a`` (the same format) and one
    read of every ``/proc/<pid>/stat``."""
    from reconciler.desired import load_desired
    from reconciler.observe import observe
    from reconciler.observe._panes import PANE_FORMAT
    from reconciler.plan import plan
    from reconciler.statedir import StateDir

    with environ(box.env()):
        desired = load_desired(box.desired_path)
        state = StateDir(box.state_dir)

        def cycle() -> None:
            assert not plan(desired, observe(desired, state)).actions

        def list_panes() -> None:
            tmux(box, "list-panes", "-a", "-F", PANE_FORMAT)

        ours, panes, scan = Timing(), Timing(), Timing()
        cycle()  # warm: byte code, the schema cache, the process memo, as a service has them
        for _ in range(runs):  # interleaved, so a busy moment weighs on both alike
            for timing, fn in ((panes, list_panes), (scan, _proc_scan), (ours, cycle)):
                started = time.perf_counter()
                fn()
                timing.samples.append(time.perf_counter() - started)
        out: dict[str, Any] = {
            "ours": ours,
            "floor": Timing([a + b for a, b in zip(panes.samples, scan.samples, strict=True)]),
            "floor_list_panes": panes,
            "floor_proc_scan": scan,
        }
        if peers:
            out.update(_libtmux_peers(box, runs))
        return out


def _proc_scan() -> None:
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat", "rb") as handle:  # noqa: PTH123
                    handle.read()
            except OSError:
                pass


def _libtmux_peers(box: Sandbox, runs: int) -> dict[str, Any]:
    """libtmux at its best: its own one listing of every pane (``Server.panes``), and that
    listing plus one psutil pass over the process table (what matching panes to
    processes takes with these libraries); not a walk per session or per pane."""
    try:
        import libtmux
        import psutil
    except ImportError as exc:
        return {"peer_libtmux": f"skipped: {exc}"}

    def listing() -> None:
        assert libtmux.Server(socket_name=box.socket_name).panes

    def with_psutil() -> None:
        panes = libtmux.Server(socket_name=box.socket_name).panes
        by_parent: dict[int, list[int]] = {}
        for process in psutil.process_iter(["ppid"]):
            by_parent.setdefault(process.info["ppid"], []).append(process.pid)
        assert all(pane.pane_pid for pane in panes)

    return {"peer_libtmux_panes": timed(listing, runs, warm=True),
            "peer_libtmux_panes_psutil": timed(with_psutil, runs, warm=True)}


def whole_process(box: Sandbox, runs: int, peers: bool) -> dict[str, dict[str, Any]]:
    """``--dry-run`` and ``apply`` with nothing to do, as a user runs them, against the
    same interpreter doing nothing (``python -c pass``), interleaved run by run."""
    reconcile(box, "--dry-run")  # byte code and the schema cache, as any later run has them
    reconcile(box, "run", "--once")  # the summary the tmux segment reads
    floor, dry, noop, segment, check = Timing(), Timing(), Timing(), Timing(), Timing()
    words = "You've hit your 5-hour limit · resets 2:12am (UTC)"
    for _ in range(runs):
        for timing, fn in ((floor, lambda: python("pass", box)),
                           (dry, lambda: _ok(reconcile(box, "--dry-run"), 0)),
                           (noop, lambda: _ok(reconcile(box, "apply"), 0)),
                           (segment, lambda: _ok(reconcile(box, "status", "--format", "tmux"),
                                                 0)),
                           (check, lambda: _ok(bare(box, "limit-check", words), 0))):
            started = time.perf_counter()
            fn()
            timing.samples.append(time.perf_counter() - started)
    dry_run: dict[str, Any] = {"ours": dry, "floor": floor}
    if peers:
        dry_run["peer_ansible_check"] = _ansible(box, runs)
    return {"dry_run": dry_run, "apply_noop": {"ours": noop, "floor": floor},
            "status_segment": {"ours": segment, "floor": floor},
            "limit_check": {"ours": check, "floor": floor}}


def _ok(done: subprocess.CompletedProcess[str], code: int) -> None:
    assert done.returncode == code, done.stdout[-2000:] + done.stderr[-2000:]


def _ansible(box: Sandbox, runs: int) -> Timing | str:
    """The same links as an Ansible play in --check mode (what a user would write)."""
    import json
    import shutil

    ansible = shutil.which("ansible-playbook")
    if ansible is None:
        return "skipped: ansible-playbook not installed"
    home = box.home
    tasks = [{"file": {"src": str(home / ".claude-work"), "dest": str(home / ".claude"),
                       "state": "link"}}]
    for account in ("work", "personal"):
        for entry in ("projects", "file-history", "session-env", "todos"):
            tasks.append({"file": {"src": str(home / ".claude-shared" / entry),
                                   "dest": str(home / f".claude-{account}" / entry),
                                   "state": "link"}})
    play = box.root / "play.json"
    play.write_text(json.dumps([{"hosts": "localhost", "connection": "local",
                                 "gather_facts": False, "tasks": tasks}]))
    argv = [ansible, "--check", "-i", "localhost,", str(play)]
    env = {**box.env(), "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_NOCOLOR": "1",
           "ANSIBLE_LOCAL_TEMP": str(box.root / "ansible-tmp"),
           "ANSIBLE_HOME": str(box.root / "ansible-home")}
    return timed(lambda: subprocess.run(argv, capture_output=True, env=env, cwd=REPO,
                                        check=False, timeout=300), runs)


def idle(box: Sandbox, sample_cycles: int, interval: float) -> dict[str, Any]:
    """CPU and RSS of a converged service with nothing to do, sampled from the end of its
    first cycle (start-up is over) to the end of the ``sample_cycles``-th after it. CPU
    counts the service and the tmux clients it ran (its waited-for children); the tmux
    server's share is shown beside it."""
    original = text = box.desired_path.read_text()
    for old in ("service: {interval: 30s}", "service: {interval: 1s}"):
        text = text.replace(old, f"service: {{interval: {interval:g}s}}")
    box.desired_path.write_text(text)
    _ok(reconcile(box, "apply"), 0)
    tmux_pid = server_pid(box)
    process = service(box)
    try:
        wait_until(lambda: cycles(box, process.pid) >= 1, 120, 0.05)  # start-up is over
        ticks = os.sysconf("SC_CLK_TCK")
        own0, kids0 = cpu_ticks(process.pid)
        server0 = cpu_ticks(tmux_pid)[0] if tmux_pid else 0
        wall0, start = time.perf_counter(), cycles(box, process.pid)
        wait_until(lambda: cycles(box, process.pid) >= start + sample_cycles,
                   sample_cycles * interval + 120, 0.2)
        own1, kids1 = cpu_ticks(process.pid)
        server1 = cpu_ticks(tmux_pid)[0] if tmux_pid else 0
        wall = time.perf_counter() - wall0
        rss = rss_mb(process.pid)
    finally:
        stop(process)
        box.desired_path.write_text(original)

    def percent(delta: int) -> float:
        return round(100 * delta / ticks / wall, 4)

    return {"cpu_percent": percent(own1 - own0 + kids1 - kids0),
            "cpu_percent_own": percent(own1 - own0),
            "cpu_percent_tmux_server": percent(server1 - server0),
            "rss_mb": round(rss, 1), "cycles": sample_cycles, "interval_s": interval,
            "seconds": round(wall, 1)}
