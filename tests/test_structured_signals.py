"""A limit is read from Claude's fields first, its words last (the stand-in speaks the
current release: its limit row carries ``apiError`` and ``apiErrorParams.rate_limit_info``).

A StopFailure whose words the grammar has never seen still moves every Claude at once,
because the row it reports says so; the recorded reset is the row's ``resetsAt`` to the
second; where the words name another time, the epoch wins; a 429 that is a passing
throttle moves nothing."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime

import pytest
from _fixtures import World, wait_for

SLOW = 30.0
UNKNOWN = "Das Nutzungslimit ist erreicht · bitte später wieder versuchen"


def _with_words(world: World, words: str) -> None:
    """The stand-ins speak ``words`` at a limit (through the launch environment)."""
    env = json.dumps({"STANDIN_CLAUDE_LIMIT_WORDS": words})
    world.set_desired("  start_timeout: 5s", f"  start_timeout: 5s\n  env: {env}")
    world.set_desired("service: {interval: 1s}", "service: {interval: 30s}")


@pytest.mark.parametrize(("line", "seconds", "kind"), [
    ("/limit 7200", 7200, "session"),
    ("/limit weekly", 5 * 86400, "weekly"),
], ids=["five-hour", "weekly"])
def test_unknown_words_with_a_structured_row_move_at_once_to_the_second(
        world: World, line: str, seconds: int, kind: str) -> None:
    _with_words(world, UNKNOWN)
    world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    started = time.time()
    world.type_in("=api:", line)
    assert wait_for(lambda: world.on("personal"), SLOW, interval=0.05) == ids
    took = time.time() - started
    log = world.service_log()
    decided = log[log.index("failover: work hit its limit"):]
    one_cycle = decided[:decided.index("Apply:")]
    assert one_cycle.count("relaunch claude") == 2, "decided and moved in one cycle"
    assert took < 3, f"moved in {took:.2f} s"
    [record] = world.limits()["limits"].values()
    assert record["source"] == "hook" and record["kind"] == kind
    reset = datetime.fromisoformat(record["resets_at"]).timestamp()
    assert abs(reset - (started + seconds)) < 2 and reset == int(reset), \
        "the row's resetsAt, to the second"


def test_where_words_and_epoch_disagree_the_epoch_wins(world: World) -> None:
    _with_words(world, "You've hit your 5-hour limit · resets 3:17am (UTC)")
    world.start_service()
    wait_for(lambda: world.on("work"), SLOW)
    started = int(time.time())
    world.type_in("=api:", "/limit 5400")
    wait_for(lambda: world.on("personal"), SLOW)
    [record] = world.limits()["limits"].values()
    reset = datetime.fromisoformat(record["resets_at"]).timestamp()
    assert started + 5400 <= reset <= started + 5402, record


def test_a_passing_throttle_moves_nothing(world: World) -> None:
    world.set_desired("service: {interval: 1s}", "service: {interval: 2s}")
    world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    world.type_in("=api:", "/throttle")
    wait_for(lambda: "not your usage limit" in world.screen("api"), SLOW)
    cycles = world.service_cycles()
    wait_for(lambda: world.service_cycles() >= cycles + 3, SLOW)
    assert world.on("work") == ids and world.limits()["limits"] == {}


def test_a_claude_moved_twice_gets_one_message_per_cut_turn_and_never_a_loop(
        world_with: Callable[..., World]) -> None:
    """work, then personal, are limited in turn: the Claude whose turn each limit cut is
    resumed with the message once per cut turn; the idle one never; once every account
    is limited nothing moves and nothing is sent again."""
    world = world_with(accounts=("work", "personal", "spare"))
    world.set_desired('usage_url: "http://127.0.0.1:9', 'choose: order, usage_url: "'
                      "http://127.0.0.1:9")
    world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    for account, following in (("work", "personal"), ("personal", "spare")):
        world.type_in("=api:", "/limit")
        assert wait_for(lambda f=following: world.on(f), SLOW) == ids, account
    world.type_in("=api:", "/limit")  # spare too: every account is limited
    wait_for(lambda: any(a["kind"] == "all_limited" for a in _alerts(world)), SLOW)
    cycles = world.service_cycles()
    wait_for(lambda: world.service_cycles() >= cycles + 3, SLOW)
    sent = [(e["cwd"].rsplit("/", 1)[1], e["config_dir"].rsplit("-", 1)[1])
            for e in world.launches() if e.get("first_prompt")]
    assert sent == [("api", "personal"), ("api", "spare")], sent
    assert world.on("spare") == ids


def _alerts(world: World) -> list[dict[str, object]]:
    return json.loads(world.reconcile("status", "--json").stdout)["alerts"]
