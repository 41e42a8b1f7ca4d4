"""Round three of what an attacker and a new user broke, each on real files, a real tmux
server and real processes (docs/RELIABILITY.md lists each guarantee next to its test)."""

from __future__ import annotations

import json
import subprocess

from _fixtures import World, mounted


def test_a_swap_that_cannot_prepare_its_target_stops_nothing(world: World) -> None:
    """The target home is read-only: carrying trust there fails before the first stop, so
    every Claude keeps running where it was, and the report says why."""
    assert world.reconcile("apply").returncode == 0
    before = {t: r["claude_pid"] for t, r in world.claudes_when(2).items()}
    home = world.sandbox.account_home("personal")
    with mounted("--bind", "-o", "ro", str(home), target=home):
        subprocess.run(["mount", "-o", "remount,bind,ro", str(home)], check=False)
        done = world.reconcile("swap", "personal", "--apply", "--json")
        report = json.loads(done.stdout)
        assert done.returncode == 1 and not report["ok"]
        by_key = {r["action"]["key"]: r for r in report["results"]}
        assert by_key["accept:personal"]["status"] == "failed"
        assert "Read-only" in by_key["accept:personal"]["message"]
        stops = [r for k, r in by_key.items() if k.startswith("stop:")]
        assert stops and all(r["status"] == "skipped" for r in stops), stops
        assert {t: r["claude_pid"] for t, r in world.claudes().items()} == before
