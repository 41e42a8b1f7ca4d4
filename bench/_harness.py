"""Timing helpers and sandboxes for the benchmarks. Nothing here asserts a speed:
results are printed as ratios against baselines measured in the same run.

Every world lives under one temp dir: its HOME, its state dir, its private tmux
server (``-L`` socket under a ``TMUX_TMPDIR`` inside the temp dir) and its stand-in
Claudes. ``sweep`` ends whatever was started from there, so a bench that fails half
way leaves nothing running.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.demo import Sandbox, build_sandbox, kill_tmux_server

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Timing:
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def to_json(self) -> dict[str, float]:
        return {"median_ms": round(self.median * 1000, 2),
                "min_ms": round(min(self.samples) * 1000, 2),
                "max_ms": round(max(self.samples) * 1000, 2), "runs": len(self.samples)}


def timed(fn: Callable[[], object], runs: int, setup: Callable[[], object] | None = None,
          warm: bool = False) -> Timing:
    """``runs`` samples of ``fn``; ``setup`` runs before each, untimed. ``warm`` runs
    ``fn`` once first, untimed (caches every contender has, such as byte code)."""
    if warm:
        if setup is not None:
            setup()
        fn()
    timing = Timing()
    for _ in range(runs):
        if setup is not None:
            setup()
        started = time.perf_counter()
        fn()
        timing.samples.append(time.perf_counter() - started)
    return timing


@contextlib.contextmanager
def environ(env: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def private_tmux(root: Path) -> None:
    """Every tmux this process and its children run puts its socket under ``root``."""
    tmpdir = root / "tmux"
    tmpdir.mkdir(mode=0o700, exist_ok=True)
    os.environ["TMUX_TMPDIR"] = str(tmpdir)
    os.environ.pop("TMUX", None)
    os.environ.pop("TMUX_PANE", None)


def build(root: Path, *, claudes: int = 0, shells: int = 0, interval: str = "30s") -> Sandbox:
    """A world with ``claudes`` dedicated sessions (each runs a stand-in Claude once
    applied) and ``shells`` pool sessions that stay plain shells. Launches get room to
    start on a loaded 2-core machine; the service runs at ``interval``."""
    box = build_sandbox(root, dedicated=tuple((f"d{i}", f"src/d{i}") for i in range(claudes)),
                        autonomous_min=shells, autonomous_max=max(shells, 1))
    text = box.desired_path.read_text()
    text = text.replace("start_timeout: 5s", "start_timeout: 300s")
    text = text.replace("service: {interval: 1s}", f"service: {{interval: {interval}}}")
    box.desired_path.write_text(text)
    return box


@contextlib.contextmanager
def world(root: Path, *, claudes: int = 0, shells: int = 0,
          interval: str = "30s") -> Iterator[Sandbox]:
    """A converged world (``reconcile apply`` done); its tmux server and Claudes are
    gone when the block ends."""
    box = build(root, claudes=claudes, shells=shells, interval=interval)
    try:
        done = reconcile(box, "apply")
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        wait_until(lambda: launched(box) >= claudes, 300, 0.02)
        yield box
    finally:
        down(box)


def reconcile(box: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "-f", str(box.desired_path),
                           "--state-dir", str(box.state_dir)], capture_output=True, text=True,
                          env=box.env(), cwd=REPO, timeout=600, check=False)


def bare(box: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    """``reconcile ARGS`` with no desired file or state dir named (``limit-check``)."""
    return subprocess.run([sys.executable, "-m", "reconciler", *args], capture_output=True,
                          text=True, env=box.env(), cwd=REPO, timeout=600, check=False)


def python(code: str, box: Sandbox) -> None:
    """The floor of every whole-process measure: the same interpreter, doing nothing."""
    subprocess.run([sys.executable, "-c", code], env=box.env(), cwd=REPO, check=False)


def tmux(box: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-u", "-L", box.socket_name, *args], capture_output=True,
                          text=True, timeout=120, env=box.env(), check=False)


def service(box: Sandbox) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "reconciler", "run", "-f",
                             str(box.desired_path), "--state-dir", str(box.state_dir)],
                            env=box.env(), cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(30)


def cycles(box: Sandbox, pid: int) -> int:
    """Cycles the service ``pid`` has finished (its status file; one an earlier service
    left says 0)."""
    try:
        status = json.loads((box.state_dir / "service.json").read_text())
        return int(status["cycles"]) if status.get("pid") == pid else 0
    except (OSError, ValueError, KeyError, TypeError):
        return 0


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.005) -> float:
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"not done within {timeout}s")
        time.sleep(interval)
    return time.perf_counter() - started


class LaunchLog:
    """The stand-ins' launch log, read from where it was last left: counting the starts
    on one account costs only the new lines, so waiting on it disturbs little."""

    def __init__(self, box: Sandbox) -> None:
        self.path = box.log_path
        self.offset = self.path.stat().st_size if self.path.exists() else 0
        self.rows: list[dict[str, object]] = []

    def count(self, account: str) -> int:
        try:
            with self.path.open("rb") as handle:
                handle.seek(self.offset)
                chunk = handle.read()
        except FileNotFoundError:
            chunk = b""
        end = chunk.rfind(b"\n") + 1
        self.offset += end
        self.rows += [json.loads(line) for line in chunk[:end].splitlines()]
        return sum(1 for r in self.rows if str(r["config_dir"]).endswith(f"-{account}"))


def launched(box: Sandbox) -> int:
    return len(box.log_path.read_text().splitlines()) if box.log_path.exists() else 0


def live_standins(box: Sandbox) -> dict[str, dict[str, object]]:
    """cwd -> the newest launch-log row whose process still runs the stand-in."""
    rows = [json.loads(line) for line in box.log_path.read_text().splitlines()]
    alive: dict[str, dict[str, object]] = {}
    for row in rows:
        if _runs(int(str(row["pid"])), box.bin_dir / "claude"):
            alive[str(row["cwd"])] = row
    return alive


def _runs(pid: int, script: Path) -> bool:
    return str(script).encode() in _cmdline(pid).split(b"\0")


def down(box: Sandbox) -> None:
    """The world's tmux server, and every process started under its root, gone."""
    kill_tmux_server(box.socket_name)
    sweep(box.root)


def sweep(root: Path) -> None:
    """SIGKILL whatever still runs from under ``root`` (a stand-in whose pane closed, a
    service left behind by a failed measure), and wait until it is gone."""
    mark = str(root).encode()
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        if mark in _cmdline(int(entry.name)):
            found.append(int(entry.name))
    for pid in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(TimeoutError):
        wait_until(lambda: not any(_cmdline(p) for p in found), 10, 0.02)


def _cmdline(pid: int) -> bytes:
    """Empty once the process is gone (or a zombie its parent has yet to reap)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def cpu_ticks(pid: int) -> tuple[int, int]:
    """(the process's own CPU ticks, those of its children it has waited for)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def server_pid(box: Sandbox) -> int | None:
    out = tmux(box, "display-message", "-p", "#{pid}").stdout.strip()
    return int(out) if out.isdigit() else None
