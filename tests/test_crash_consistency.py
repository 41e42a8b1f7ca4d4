"""SIGKILL the applier at every action boundary of a swap, then apply again: it always
converges, the link is never missing or dangling, no file is lost, and every Claude
is resumed with its own session id."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest
from conftest import World, make_world

from reconciler.apply import FAULT_ENV

SWAP_ACTIONS = 10  # 3 remember, 1 flip, 3 stop, 3 relaunch


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
    """Three Claudes on work (two dedicated, one by hand), then desired says personal."""
    assert world.reconcile("apply").returncode == 0
    sbx = world.sandbox
    world.type_in("=ccl-auto-0:", f"CLAUDE_CONFIG_DIR={sbx.home}/.claude-work {sbx.bin_dir}/claude")
    ids = {t: r["session_id"] for t, r in world.claudes_when(3).items()}
    world.set_desired("active_account: work", "active_account: personal")
    return ids


def test_swap_plan_has_one_boundary_per_action(world: World) -> None:
    prepare_swap(world)
    doc = json.loads(world.reconcile("plan", "--json").stdout)
    assert doc["changes"] == SWAP_ACTIONS


@pytest.mark.parametrize("kill_after", range(1, SWAP_ACTIONS))
def test_sigkill_at_each_boundary_then_converge(tmp_path: Path, kill_after: int) -> None:
    with make_world(tmp_path / "sbx") as world:
        ids = prepare_swap(world)
        home = world.sandbox.home
        before = files_under(home)
        watcher = LinkWatcher(home / ".claude")
        watcher.start()
        crashed = world.reconcile("apply", env={FAULT_ENV: str(kill_after)})
        assert crashed.returncode == -9, crashed.stderr
        assert world.reconcile("apply").returncode == 0
        watcher.stop.set()
        watcher.join()
        assert watcher.samples > 100 and watcher.bad == []
        after = {t: (r["session_id"], r["account"]) for t, r in world.claudes_when(3).items()}
        assert after == {t: (sid, "personal") for t, sid in ids.items()}
        assert before <= files_under(home), sorted(before - files_under(home))
        assert world.reconcile("plan").returncode == 0
