"""Failover end to end: a limit in a real pane moves every Claude to the next account
with its own session id; after the (shortened) reset it returns to the primary."""

from __future__ import annotations

import json

from _fixtures import World, wait_for

SLOW = 30.0


def on(world: World, account: str, count: int = 2) -> dict[str, str] | None:
    found = world.claudes()
    if len(found) == count and all(r["account"] == account for r in found.values()):
        return {t: r["session_id"] for t, r in found.items()}
    return None


def active(world: World) -> str:
    for line in world.desired.read_text().splitlines():
        if line.startswith("active_account:"):
            return line.split(":", 1)[1].split("#")[0].strip()
    raise AssertionError("no active_account")


def test_limit_moves_everything_and_returns_after_reset(world: World) -> None:
    world.add_alert_file_sink()
    world.start_service()
    ids = wait_for(lambda: on(world, "work"), SLOW)
    world.type_in("=api:", "/limit 6")
    wait_for(lambda: active(world) == "personal", SLOW)
    assert wait_for(lambda: on(world, "personal"), SLOW) == ids
    wait_for(lambda: active(world) == "work", SLOW)
    assert wait_for(lambda: on(world, "work"), SLOW) == ids
    swaps = [(s["from"], s["to"], s["reason"]) for s in
             (json.loads(line) for line in
              (world.sandbox.state_dir / "swaps.jsonl").read_text().splitlines())]
    assert swaps == [("work", "personal", "limit"), ("personal", "work", "return")]
    kinds = [(a["kind"], a["state"]) for a in world.alerts()
             if a["kind"] in {"limit", "failover"}]
    assert ("limit", "firing") in kinds and ("failover", "firing") in kinds
    assert ("limit", "resolved") in kinds and ("failover", "resolved") in kinds


def test_replayed_limit_text_does_not_fail_over(world: World) -> None:
    world.start_service()
    wait_for(lambda: on(world, "work"), SLOW)
    world.type_in("=api:", "/limit 3")
    wait_for(lambda: active(world) == "personal", SLOW)
    wait_for(lambda: active(world) == "work", SLOW)
    wait_for(lambda: on(world, "work"), SLOW)
    cycles = world.service_cycles()
    wait_for(lambda: world.service_cycles() >= cycles + 3, SLOW)  # the old row must not count
    assert active(world) == "work"
    swaps = (world.sandbox.state_dir / "swaps.jsonl").read_text().splitlines()
    assert len(swaps) == 2
