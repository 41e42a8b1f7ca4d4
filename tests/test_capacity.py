"""Choosing the account by what it has left: usage per account from the usage endpoint
(each account's own token, never refreshed, never kept), the headroom choice, the
forecast, and the tmux status segment. Against a loopback stand-in of the endpoint."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from _api import Api
from _fixtures import World, wait_for

from reconciler.demo import TOKEN_PREFIX, serve
from reconciler.failover import Limit, Room, Window, decide
from reconciler.statedir import StateDir, ensure_private_dir
from reconciler.usage import Plan, Target, UsagePoller

NOW = datetime(2026, 12, 8, 12, tzinfo=UTC)
SLOW = 30.0


def room(name: str, five: float | None = None, week: float | None = None) -> Room:
    windows = tuple(Window(w, used, NOW + timedelta(hours=3), "usage endpoint", NOW)
                    for w, used in (("five_hour", five), ("seven_day", week)) if used is not None)
    return Room(name, windows)


# (id, extra failover keys, rooms, expected target or "wait")
CHOICES: list[tuple[str, str, dict[str, Room], str]] = [
    ("most headroom, the weekly window counts", "",
     {"b": room("b", 10, 97), "c": room("c", 10, 10)}, "c"),
    ("order keeps today's behaviour", "choose: order",
     {"b": room("b", 10, 97), "c": room("c", 10, 10)}, "b"),
    ("known headroom before unknown", "", {"b": Room("b", note="expired"),
                                           "c": room("c", 60, 60)}, "c"),
    ("ties go by the order", "", {"b": room("b", 30, 5), "c": room("c", 30, 20)}, "b"),
    ("never at or over the bar (95 when preempt_at is unset)", "",
     {"b": room("b", 95, 1), "c": room("c", 94, 94)}, "c"),
    ("preempt_at is the bar when set", "preempt_at: 80",
     {"b": room("b", 85, 1), "c": room("c", 50, 50)}, "c"),
    ("every other account over the bar: wait", "",
     {"b": room("b", 99, 1), "c": room("c", 1, 96)}, "wait"),
    ("nothing known: the order", "", {}, "b"),
]


@pytest.fixture
def three(tmp_path: Path) -> Callable[[str], Any]:
    from _builders import desired_yaml, load_text

    def build(extra: str) -> Any:
        keys = ", ".join(k for k in ("cooldown: 0s", extra) if k)
        return load_text(tmp_path / "d.yaml", desired_yaml(
            active="a", accounts=("a", "b", "c"), extra=f"failover: {{{keys}}}\n"))
    return build


@pytest.mark.parametrize(("name", "extra", "rooms", "expected"), CHOICES,
                         ids=[c[0] for c in CHOICES])
def test_the_target_is_the_account_with_the_most_headroom(
        three: Callable[[str], Any], name: str, extra: str, rooms: dict[str, Room],
        expected: str) -> None:
    desired = three(extra)
    limits = {"a": Limit("a", NOW + timedelta(hours=2), "session", "hit", NOW, "hook")}
    decision = decide(desired, limits, NOW, None, rooms=rooms)
    assert (decision.to or "wait") == expected, decision.message
    if expected not in ("wait", "b") or extra == "":
        assert "%" in decision.message or not rooms, "the decision names its numbers"


# -- the poller against the loopback endpoint ------------------------------------------

class Clock:
    def __init__(self) -> None:
        self.now = NOW.timestamp()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def endpoint() -> Iterator[Api]:
    api = Api()
    serve(api)
    try:
        yield api
    finally:
        api.server.shutdown()
        api.server.server_close()


def _homes(root: Path, clock: Clock) -> dict[str, Path]:
    homes = {}
    for name, ahead in (("a", 3600), ("b", 3600), ("c", -60)):  # c's token has expired
        home = root / f".claude-{name}"
        home.mkdir(parents=True)
        (home / ".credentials.json").write_text(json.dumps({"claudeAiOauth": {
            "accessToken": f"{TOKEN_PREFIX}{name}", "refreshToken": f"refresh-{name}",
            "expiresAt": int((clock.now + ahead) * 1000)}}))
        homes[name] = home
    return homes


def _usage(five: float, week: float) -> dict[str, Any]:
    reset = (NOW + timedelta(hours=3)).isoformat()
    return {"five_hour": {"utilization": five, "resets_at": reset},
            "seven_day": {"utilization": week, "resets_at": reset},
            "seven_day_opus": None}


def test_each_account_is_read_with_its_own_token_and_nothing_is_kept(
        tmp_path: Path, endpoint: Api) -> None:
    clock = Clock()
    homes = _homes(tmp_path, clock)
    before = {n: (h / ".credentials.json").read_bytes() for n, h in homes.items()}
    endpoint.usage.update({"a": _usage(40, 10), "b": _usage(10, 97), "c": _usage(1, 1)})
    state = tmp_path / "state"
    ensure_private_dir(state)
    poller = UsagePoller(state, lambda _line: None, clock)
    poller.configure(Plan(f"{endpoint.url}/api/oauth/usage", 300.0,
                          tuple(Target(n, h) for n, h in homes.items())))
    poller.step()
    asked = [(r.account, r.path) for r in endpoint.requests]
    assert sorted(asked) == [("a", "/api/oauth/usage"), ("b", "/api/oauth/usage")], \
        "an expired token is never sent"
    records = StateDir(state).read_usage_records()
    assert records["b"].window("seven_day").used == 97  # type: ignore[union-attr]
    assert records["c"].read_at is None and "expired" in records["c"].note
    for _ in range(11):  # nearly an hour: one request per account per five minutes
        clock.now += 290
        poller.step()
    per = {n: sum(r.account == n for r in endpoint.requests) for n in "abc"}
    assert per["a"] <= 12 and per["b"] <= 12 and per["c"] == 0, per
    assert not [r for r in endpoint.requests if "oauth/token" in r.path]
    assert {n: (h / ".credentials.json").read_bytes() for n, h in homes.items()} == before
    assert TOKEN_PREFIX not in "".join(p.read_text() for p in state.rglob("*.json"))


def test_a_429_is_honoured_for_at_least_its_retry_after(tmp_path: Path, endpoint: Api) -> None:
    clock = Clock()
    homes = _homes(tmp_path, clock)
    endpoint.usage["a"] = _usage(5, 5)
    endpoint.usage_refusal["a"] = (429, {"retry-after": "120"})
    state = tmp_path / "state"
    ensure_private_dir(state)
    poller = UsagePoller(state, lambda _line: None, clock)
    poller.configure(Plan(f"{endpoint.url}/api/oauth/usage", 10.0,
                          (Target("a", homes["a"]),)))
    poller.step()
    del endpoint.usage_refusal["a"]
    times = []
    for _ in range(30):  # every 10 s for five minutes
        clock.now += 10
        before = len(endpoint.requests)
        poller.step()
        if len(endpoint.requests) > before:
            times.append(clock.now - NOW.timestamp())
    assert times and times[0] >= 120, times
    assert StateDir(state).read_usage_records()["a"].window("five_hour") is not None


def test_the_forecast_says_when_a_window_runs_out(tmp_path: Path, endpoint: Api) -> None:
    from _builders import desired_yaml, load_text

    from reconciler.failover import headroom_table

    clock = Clock()
    homes = _homes(tmp_path, clock)
    state = tmp_path / "state"
    ensure_private_dir(state)
    poller = UsagePoller(state, lambda _line: None, clock)
    poller.configure(Plan(f"{endpoint.url}/api/oauth/usage", 300.0, (Target("a", homes["a"]),)))
    for used in (40, 50, 60):  # ten points an hour... every five minutes: 120 %/h
        endpoint.usage["a"] = _usage(used, 5)
        poller.step()
        clock.now += 300
    desired = load_text(tmp_path / "d.yaml", desired_yaml(active="a", accounts=("a", "b")),
                        home=tmp_path)
    now = datetime.fromtimestamp(clock.now, tz=UTC)
    five = headroom_table(desired, StateDir(state), now)["a"].window("five_hour")
    assert five is not None and five.rate == pytest.approx(120.0)
    assert five.runs_out == datetime.fromtimestamp(NOW.timestamp() + 600, tz=UTC) + timedelta(
        minutes=20)


# -- end to end: the service, the stand-in claude, the endpoint ------------------------

def _three_accounts(world_with: Callable[..., World], api: Api, choose: str) -> World:
    world = world_with(accounts=("work", "personal", "spare"), autonomous_min=0)
    world.set_desired('usage_url: "http://127.0.0.1:9',
                      f'choose: {choose}, usage_every: 1s, usage_url: "{api.url}')
    return world


@pytest.mark.parametrize(("choose", "target"), [("headroom", "spare"), ("order", "personal")])
def test_a_limit_moves_to_the_account_with_the_most_left(
        world_with: Callable[..., World], endpoint: Api, choose: str, target: str) -> None:
    world = _three_accounts(world_with, endpoint, choose)
    endpoint.usage.update({"work": _usage(50, 50), "personal": _usage(10, 97),
                           "spare": _usage(10, 10)})
    world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    records = world.sandbox.state_dir / "usage.json"
    wait_for(lambda: records.exists() and len(json.loads(records.read_text())) == 3, SLOW)
    world.type_in("=api:", "/limit")
    assert wait_for(lambda: world.on(target), SLOW) == ids
    body = world.limits()
    spare = body["usage"]["spare"]
    assert spare["five_hour"]["source"] == "usage endpoint"
    assert spare["five_hour"]["age_seconds"] is not None
    status = world.status()
    assert status["accounts"][2]["usage"]["seven_day"]["used_percentage"] == 10
    segment = world.reconcile("status", "--format", "tmux")
    assert segment.returncode == 0 and target in segment.stdout and "#[" in segment.stdout
    everything = "".join(p.read_text(errors="replace") for p in
                         world.sandbox.state_dir.rglob("*") if p.is_file())
    everything += world.service_log() + json.dumps(body) + json.dumps(status)
    assert TOKEN_PREFIX not in everything, "a token was kept or shown"
