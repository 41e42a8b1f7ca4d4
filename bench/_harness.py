"""Timing helpers and sandboxes for the benchmarks. Nothing here asserts a speed:
results are printed as ratios against baselines measured in the same run."""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.demo import Sandbox, build_sandbox, kill_tmux_server


@dataclass
class Timing:
    samples: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    def to_json(self) -> dict[str, float]:
        return {"median_ms": round(self.median * 1000, 2),
                "min_ms": round(min(self.samples) * 1000, 2),
                "max_ms": round(max(self.samples) * 1000, 2), "runs": len(self.samples)}


def timed(fn: Callable[[], object], runs: int, setup: Callable[[], object] | None = None) -> Timing:
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


@contextlib.contextmanager
def sandbox(root: Path, sessions: int, dedicated: int = 0) -> Iterator[Sandbox]:
    """N autonomous sessions (plain shells) and ``dedicated`` sessions running Claude."""
    box = build_sandbox(root, dedicated=tuple((f"d{i}", f"src/d{i}") for i in range(dedicated)),
                        autonomous_min=sessions, autonomous_max=max(sessions, 1))
    try:
        yield box
    finally:
        kill_tmux_server(box.socket_name)


def reconcile(box: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "reconciler", *args, "-f", str(box.desired_path),
                           "--state-dir", str(box.state_dir)], capture_output=True, text=True,
                          env=box.env(), timeout=300, check=False)


def tmux(box: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["tmux", "-u", "-L", box.socket_name, *args], capture_output=True,
                          text=True, timeout=60, check=False)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.01) -> float:
    started = time.perf_counter()
    while not predicate():
        if time.perf_counter() - started > timeout:
            raise TimeoutError(f"not done within {timeout}s")
        time.sleep(interval)
    return time.perf_counter() - started
