"""Batches: many sessions in few tmux calls, chunked under tmux's message size."""

from __future__ import annotations

from _fixtures import World

from reconciler.desired import load_desired
from reconciler.observe import capture_panes, observe_tmux
from reconciler.tmux import chunked


def test_chunks_stay_under_the_limit_and_keep_every_command() -> None:
    commands = [["new-session", "-d", "-s", f"s{i}", "-c", "/tmp/" + "x" * 40] for i in range(300)]
    chunks = chunked(commands, limit=2000)
    assert len(chunks) > 1
    assert all(sum(len(a) + 1 for a in c) <= 2000 for c in chunks)
    flat = [arg for chunk in chunks for arg in chunk if arg != ";"]
    assert flat == [arg for command in commands for arg in command]


def test_a_large_pool_is_created_and_captured_in_chunks(world: World) -> None:
    world.set_desired("min: 2, max: 4", "min: 150, max: 150")
    report = world.apply_json()
    assert report["ok"] and report["counts"]["changed"] >= 150
    sessions = world.tmux("ls", "-F", "#{session_name}").stdout.split()
    assert len([s for s in sessions if s.startswith("ccl-auto-")]) == 150
    desired = load_desired(world.desired)
    panes = [p.pane_id for p in observe_tmux(desired.tmux.server_args()).panes]
    texts = capture_panes(desired.tmux.server_args(), panes)
    assert set(texts) == set(panes)
    assert world.apply_json()["counts"]["changed"] == 0
