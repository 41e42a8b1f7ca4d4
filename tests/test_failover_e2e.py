"""Failover end to end: a limit in a real pane moves every Claude to the next account
with its own session id; after the (shortened) reset it returns to the primary."""

from __future__ import annotations

import json

from _fixtures import World, wait_for

SLOW = 30.0






def test_limit_moves_everything_and_returns_after_reset(world: World) -> None:
    world.add_alert_file_sink()
    world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    world.type_in("=api:", "/limit 6")
    wait_for(lambda: world.active() == "personal", SLOW)
    assert wait_for(lambda: world.on("personal"), SLOW) == ids
    wait_for(lambda: world.active() == "work", SLOW)
    assert wait_for(lambda: world.on("work"), SLOW) == ids
    swaps = [(s["from"], s["to"], s["reason"]) for s in
             (json.loads(line) for line in
              (world.sandbox.state_dir / "swaps.jsonl").read_text().splitlines())]
    assert swaps == [("work", "personal", "limit"), ("personal", "work", "return")]
    kinds = [(a["kind"], a["state"]) for a in world.alerts()
             if a["kind"] in {"limit", "failover"}]
    assert ("limit", "firing") in kinds and ("failover", "firing") in kinds
    assert ("limit", "resolved") in kinds and ("failover", "resolved") in kinds
    limit = next(a["message"] for a in world.alerts() if a["kind"] == "limit")
    assert "work: work" not in limit, limit


def test_replayed_limit_text_does_not_fail_over(world: World) -> None:
    world.start_service()
    wait_for(lambda: world.on("work"), SLOW)
    world.type_in("=api:", "/limit 3")
    wait_for(lambda: world.active() == "personal", SLOW)
    wait_for(lambda: world.active() == "work", SLOW)
    wait_for(lambda: world.on("work"), SLOW)
    cycles = world.service_cycles()
    wait_for(lambda: world.service_cycles() >= cycles + 3, SLOW)  # the old row must not count
    assert world.active() == "work"
    swaps = (world.sandbox.state_dir / "swaps.jsonl").read_text().splitlines()
    assert len(swaps) == 2
