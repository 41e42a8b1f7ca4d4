"""The measurements: ours, the floors (raw tmux, raw /proc) and the peers."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from bench._harness import Timing, environ, reconcile, sandbox, timed, tmux, wait_until
from reconciler.tmux import chunked

FORMAT = "#{session_name} #{pane_id} #{pane_pid} #{pane_current_path}"


def observe_plan(size: int, runs: int, root: Path) -> dict[str, Any]:
    """observe + plan in-process (what the service does each cycle), and the floors."""
    import libtmux
    import psutil

    from reconciler.desired import load_desired
    from reconciler.observe import Identity, ProcessTable, observe
    from reconciler.plan import plan
    from reconciler.statedir import StateDir

    with sandbox(root, size) as box, environ(box.env()):
        assert reconcile(box, "apply").returncode == 0
        desired = load_desired(box.desired_path)
        state = StateDir(box.state_dir)

        def cycle() -> None:
            assert not plan(desired, observe(desired, state)).actions

        def naive_libtmux() -> None:
            server = libtmux.Server(socket_name=box.socket_name)
            for session in server.sessions:
                for window in session.windows:
                    for pane in window.panes:
                        psutil.Process(int(pane.pane_pid or 0)).children(recursive=True)

        return {
            "ours": timed(cycle, runs),
            "floor_list_panes": timed(lambda: tmux(box, "list-panes", "-a", "-F", FORMAT), runs),
            "floor_proc_scan": timed(lambda: ProcessTable.scan(Identity(frozenset(),
                                                                         frozenset())), runs),
            "psutil_process_iter": timed(
                lambda: [p.info for p in psutil.process_iter(["cmdline", "ppid"])], runs),
            "peer_libtmux_walk": timed(naive_libtmux, runs),
        }


def converge(size: int, runs: int, root: Path) -> dict[str, Any]:
    """Create every session from nothing (tmux server down), against the floors and peers."""
    from reconciler.apply import apply_plan
    from reconciler.desired import load_desired
    from reconciler.observe import observe
    from reconciler.plan import plan
    from reconciler.statedir import StateDir

    with sandbox(root, size) as box, environ(box.env()):
        assert reconcile(box, "apply").returncode == 0
        desired = load_desired(box.desired_path)
        state = StateDir(box.state_dir)
        names = [f"ccl-auto-{i}" for i in range(size)]

        def down() -> None:
            """Kill the server and wait until it is really gone, for every contender alike."""
            tmux(box, "kill-server")
            wait_until(lambda: subprocess.run(["pgrep", "-f", f"tmux.*{box.socket_name}"],
                                              capture_output=True, check=False).returncode != 0,
                       10)

        def ours() -> None:
            report = apply_plan(plan(desired, observe(desired, state)), desired, state)
            assert report.ok and report.counts()["changed"] == size

        def chained() -> None:
            for chunk in chunked([["new-session", "-d", "-s", n, "-c", str(box.home)]
                                  for n in names]):
                tmux(box, *chunk)
            assert len(tmux(box, "ls").stdout.splitlines()) == size

        def one_each() -> None:
            for name in names:
                tmux(box, "new-session", "-d", "-s", name, "-c", str(box.home))

        def libtmux_each() -> None:
            import libtmux

            server = libtmux.Server(socket_name=box.socket_name)
            for name in names:
                server.new_session(session_name=name, start_directory=str(box.home))

        out: dict[str, Any] = {
            "ours": timed(ours, runs, setup=down),
            "floor_chained": timed(chained, runs, setup=down),
            "one_call_each": timed(one_each, runs, setup=down),
            "peer_libtmux_new_session": timed(libtmux_each, runs, setup=down),
        }
        tmuxp = _tool("tmuxp", "tmuxp")
        if tmuxp:
            files = []
            for name in names:
                path = root / f"tmuxp-{name}.json"
                path.write_text(json.dumps({"session_name": name, "start_directory": str(box.home),
                                            "windows": [{"window_name": "w", "panes": [""]}]}))
                files.append(str(path))
            out["peer_tmuxp_load"] = timed(
                lambda: subprocess.run([tmuxp, "load", "-d", "-L", box.socket_name, *files],
                                       capture_output=True, check=False, timeout=300,
                                       env={**box.env(), "TMUX": ""}), runs, setup=down)
        else:
            out["peer_tmuxp_load"] = "skipped: tmuxp could not be installed"
        return out


def dry_run(size: int, runs: int, root: Path) -> dict[str, Any]:
    with sandbox(root, size) as box:
        assert reconcile(box, "apply").returncode == 0
        reconcile(box, "--dry-run")  # warms the schema-validation cache, as any run does
        out: dict[str, Any] = {
            "ours": timed(lambda: reconcile(box, "--dry-run"), runs),
            "floor_python": timed(lambda: _python("pass"), runs),
            "floor_imports": timed(
                lambda: _python("import yaml, jsonschema, libtmux, psutil, tenacity"), runs),
        }
        ansible = _tool("ansible-playbook", "ansible-core")
        if ansible:
            out["peer_ansible_check"] = _ansible(box, ansible, root, runs)
        else:
            out["peer_ansible_check"] = "skipped: ansible-core could not be installed"
        return out


def _python(code: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=False)


def _ansible(box: Any, ansible: str, root: Path, runs: int) -> Timing:
    """The same links as an Ansible play in --check mode (what a user would write)."""
    home = box.home
    tasks = [{"file": {"src": str(home / ".claude-work"), "dest": str(home / ".claude"),
                       "state": "link"}}]
    for account in ("work", "personal"):
        for entry in ("projects", "file-history", "session-env", "todos"):
            tasks.append({"file": {"src": str(home / ".claude-shared" / entry),
                                   "dest": str(home / f".claude-{account}" / entry),
                                   "state": "link"}})
    play = root / "play.json"
    play.write_text(json.dumps([{"hosts": "localhost", "connection": "local",
                                 "gather_facts": False, "tasks": tasks}]))
    argv = [ansible, "--check", "-i", "localhost,", str(play)]
    env = {**box.env(), "ANSIBLE_LOCALHOST_WARNING": "False", "ANSIBLE_NOCOLOR": "1"}
    return timed(lambda: subprocess.run(argv, capture_output=True, env=env, check=False,
                                        timeout=300), runs)


def _tool(command: str, package: str) -> str | None:
    """The tool on PATH or next to this Python; installed into this env when missing."""
    found = shutil.which(command) or shutil.which(command, path=str(Path(sys.executable).parent))
    if found:
        return found
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", package],
                          capture_output=True, check=False, timeout=600)
    if done.returncode != 0:
        return None
    return shutil.which(command) or shutil.which(command, path=str(Path(sys.executable).parent))


def swap(claudes: int, runs: int, root: Path) -> dict[str, Any]:
    """Desired edit -> every Claude relaunched on the other account, with the service running."""
    with sandbox(root, 0, dedicated=claudes) as box:
        assert reconcile(box, "apply").returncode == 0
        service = _service(box)
        try:
            timing = Timing()
            accounts = ["personal", "work"]
            for run in range(runs):
                target = accounts[run % 2]
                before = _launches(box.log_path)
                text = box.desired_path.read_text()
                started = time.perf_counter()
                box.desired_path.write_text(text.replace(
                    f"active_account: {accounts[(run + 1) % 2]}", f"active_account: {target}", 1))
                wait_until(lambda t=target, b=before: _relaunched(box.log_path, b, t) >= claudes,
                           60)
                timing.samples.append(time.perf_counter() - started)
                time.sleep(0.5)
            return {"ours": timing}
        finally:
            service.terminate()
            service.wait(30)


def _service(box: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "reconciler", "run", "-f",
                             str(box.desired_path), "--state-dir", str(box.state_dir)],
                            env=box.env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _launches(log: Path) -> int:
    return len(log.read_text().splitlines()) if log.exists() else 0


def _relaunched(log: Path, skip: int, account: str) -> int:
    lines = log.read_text().splitlines()[skip:] if log.exists() else []
    return sum(1 for line in lines if json.loads(line)["config_dir"].endswith(f"-{account}"))


def idle(seconds: float, root: Path) -> dict[str, Any]:
    """CPU and RSS of a converged service with nothing to do (default 30 s interval)."""
    with sandbox(root, 10, dedicated=2) as box:
        text = box.desired_path.read_text().replace("service: {interval: 1s}",
                                                    "service: {interval: 30s}")
        box.desired_path.write_text(text)
        assert reconcile(box, "apply").returncode == 0
        service = _service(box)
        try:
            time.sleep(3)
            ticks = os.sysconf("SC_CLK_TCK")
            cpu0, wall0 = _cpu(service.pid), time.perf_counter()
            time.sleep(seconds)
            cpu1, wall1 = _cpu(service.pid), time.perf_counter()
            rss = _rss_mb(service.pid)
            return {"cpu_percent": round(100 * (cpu1 - cpu0) / ticks / (wall1 - wall0), 3),
                    "rss_mb": round(rss, 1), "seconds": seconds}
        finally:
            service.terminate()
            service.wait(30)


def _cpu(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def scratch() -> Path:
    return Path(tempfile.mkdtemp(prefix="reconciler-bench-"))
