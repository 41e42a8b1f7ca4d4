"""SIGKILL the applier at every crash point of a batched swap of five Claudes, then apply
again: it always converges, the link is never missing or dangling, no file is lost, and
every Claude is resumed with its own session id (never one id on two Claudes).

The crash points sit inside the batch executors production runs (one SIGTERM wave, one
chained launch), so this is the path users run, not a single-action variant of it."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from _fixtures import World

from reconciler.apply import FAULT_ENV, TRACE_ENV

DEDICATED = tuple((f"s{i}", f"src/p{i}") for i in range(5))
CRASH_POINTS = 12
"""the trust and disclaimer carried to the target account (1), remember (1 batched write),
the link flip (1), a SIGTERM per Claude (5), all stopped (1), prompts learned after the
stop (1), typed (1 chained call), launches recorded (1)."""


class LinkWatcher(threading.Thread):
    """Samples the active link as fast as it can while the applier runs."""

    def __init__(self, link: Path) -> None:
        super().__init__(daemon=True)
        self.link = link
        self.samples = 0
        self.bad: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples += 1
            if not os.path.lexists(self.link):
                self.bad.append("missing")
            elif not self.link.exists():
                self.bad.append("dangling")


def files_under(home: Path) -> set[str]:
    """Every regular file (links not followed), minus Claude's own per-process files."""
    found = set()
    for folder, _dirs, files in os.walk(home):
        for name in files:
            path = Path(folder) / name
            if "sessions" not in path.parts and not path.is_symlink():
                found.add(str(path.relative_to(home)))
    return found


def prepare_swap(world: World) -> dict[str, str]:
    """Five Claudes on work, then the desired file says personal."""
    assert world.reconcile("apply").returncode == 0
    ids = {t: r["session_id"] for t, r in world.claudes_when(5).items()}
    world.set_desired("active_account: work", "active_account: personal")
    return ids


def test_the_swap_passes_every_crash_point_in_one_batch(
        world_with: Callable[..., World]) -> None:
    world = world_with(dedicated=DEDICATED, autonomous_min=0)
    ids = prepare_swap(world)
    trace = world.sandbox.root / "trace"
    assert world.reconcile("apply", env={TRACE_ENV: str(trace)}).returncode == 0
    points = [line.split(" ", 1)[1] for line in trace.read_text().splitlines()]
    assert len(points) == CRASH_POINTS, points
    assert [p for p in points if p.startswith("SIGTERM")] == [
        f"SIGTERM s{i}/0" for i in range(5)], "one SIGTERM wave, in one executor call"
    assert points.index("stopped") == points.index("SIGTERM s4/0") + 1
    assert {t: r["session_id"] for t, r in world.claudes_when(5).items()} == ids


@pytest.mark.parametrize("kill_at", range(1, CRASH_POINTS + 1))
def test_sigkill_at_each_crash_point_then_converge(
        world_with: Callable[..., World], kill_at: int) -> None:
    world = world_with(dedicated=DEDICATED, autonomous_min=0)
    ids = prepare_swap(world)
    home = world.sandbox.home
    before = files_under(home)
    watcher = LinkWatcher(home / ".claude")
    watcher.start()
    crashed = world.reconcile("apply", env={FAULT_ENV: str(kill_at)})
    assert crashed.returncode == -9, crashed.stdout + crashed.stderr
    again = world.reconcile("apply")
    watcher.stop.set()
    watcher.join()
    assert again.returncode == 0, again.stdout + again.stderr
    assert watcher.samples > 100 and watcher.bad == []
    after = world.claudes_when(5)
    assert {t: (r["session_id"], r["account"]) for t, r in after.items()} == {
        t: (sid, "personal") for t, sid in ids.items()}, "no id lost, none doubled"
    assert before <= files_under(home), sorted(before - files_under(home))
    assert world.reconcile("plan").returncode == 0
