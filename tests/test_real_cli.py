"""The reconciler with the real ``claude`` CLI, every supported release (``_realcli``),
offline against the loopback API (``_api``), each account its own token.

What users judge is the work: a usage limit moves every Claude to the other account at
once, each with its own id, and the turn the limit cut carries on there by itself (its
resume line's first message, never keys typed into a Claude); an idle Claude gets no
new request; the return after the reset waits for a busy Claude's turn to end, comes
after the reset epoch, and leaves no Claude at a prompt.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest
from _api import Api, Request
from _fixtures import World, wait_for
from _realcli import SLOW, RealClaude, ready, with_real_claude

from reconciler.claudecode import home_key

pytestmark = pytest.mark.realcli

MESSAGE = "Continue the task; $(touch {root}/pwned-dollar) `touch {root}/pwned-tick`"
"""The configured first message: shell syntax in it must arrive as words, never run."""
STUCK = ("Quick safety check", "Do you trust the files", "Bypass Permissions mode",
         "What do you want to do?", "Select login method", "/login")


def _limit_record(world: World) -> dict[str, str]:
    body: dict[str, dict[str, str]] = json.loads(
        (world.sandbox.state_dir / "limits.json").read_text())
    return body["work"]


def _present(world: World, session: str) -> str:
    """The screen since the last launch line: what the Claude running there now shows
    (the oldest release leaves its earlier screen, a menu included, in the scrollback)."""
    screen = world.screen(session)
    return screen[screen.rfind("CLAUDE_CONFIG_DIR="):]


def _continued(api: Api, account: str, message: str) -> Request | None:
    return next((r for r in api.turns(account) if message in r.prompt), None)


def test_the_work_carries_on_across_a_limit_and_the_return(
        world_with: Callable[..., World], real_claude: RealClaude, claude_api: Api) -> None:
    """One world, start to end: the 429 on work moves both Claudes to personal within
    seconds (the hook, not the 30 s clock), trusted there with no prompt; the cut turn is
    continued from personal's token within 10 s of the 429 with the configured text,
    taken as words; the idle Claude gets no request. At the reset the return to work
    waits for the busy Claude's 25 s turn, then both run on work with their own ids, no
    pane at a prompt, and work hears nothing before the reset epoch."""
    world = world_with(autonomous_min=0)
    message = MESSAGE.format(root=world.sandbox.root)
    with_real_claude(world, real_claude, claude_api, "30s",
                     "cooldown: 0s, grace: 0s, move_wait: 5m, continue: " + json.dumps(message))
    world.start_service()
    ids = ready(world)
    # The current release gives the epoch: 20 s ahead. The oldest gives words naming a
    # minute, whose end is the reset read: a reset a second before a minute ends, at least
    # 20 s ahead, is then only a second past the epoch.
    ahead = 20.0 if real_claude.current else 20 + 60 - (time.time() + 20) % 60 - 1
    reset = claude_api.limit("work", seconds=ahead)
    cycles = world.service_cycles()
    world.type_in("=api:", "please refactor the parser")  # the person's own prompt
    cut = wait_for(lambda: next((r for r in claude_api.turns("work") if r.answer == "limit"),
                                None), SLOW, interval=0.1)
    continued = wait_for(lambda: _continued(claude_api, "personal", message), SLOW,
                         interval=0.1)
    took = continued.time - cut.time
    print(f"\n{real_claude.version}: 429 -> the cut turn's request from personal: {took:.2f} s")
    assert took < 10, took
    assert continued.prompt[-1] == message, "the configured text, as one message"
    assert {t.strip() for t in continued.prompt[:-1]} <= {"please refactor the parser"}, \
        "the cut turn's own prompt, and nothing else anybody typed"
    assert not list(world.sandbox.root.glob("pwned-*")), "no shell ran the message"
    assert wait_for(lambda: world.on("personal"), SLOW, interval=0.2) == ids
    assert world.service_cycles() <= cycles + 4, "moved by the hook, not by the 30 s clock"
    record = _limit_record(world)
    assert record["source"] == "hook"
    resets = datetime.fromisoformat(record["resets_at"]).timestamp()
    if real_claude.current:  # the row's resetsAt, to the second
        assert resets == reset, (record, reset)
    else:  # words name a minute: the reset is its end, never before the real one
        assert reset <= resets < reset + 61, (record, reset)
    assert [r.prompt[-1] for r in claude_api.turns("personal")] == [message], \
        "the idle Claude got no request; the continued one exactly one"
    for session in ("api", "web"):
        assert not any(words in _present(world, session) for words in STUCK), session

    # The return: web is mid-way through a 25 s turn when work resets.
    wait_for(lambda: time.time() >= resets - 8, SLOW + 60, interval=0.2)
    before = world.claudes()["web/0"]["claude_pid"]
    world.type_in("=web:", f"{claude_api.slow_marker}: write the report")
    long_turn = wait_for(lambda: next((r for r in claude_api.turns("personal")
                                       if claude_api.slow_marker in " ".join(r.prompt)), None),
                         SLOW, interval=0.1)
    wait_for(lambda: world.claudes().get("api/0", {}).get("account") == "work", SLOW + 60,
             interval=0.2)
    returned = time.time()
    assert returned < long_turn.time + claude_api.turn_seconds, "the return came mid-turn"
    assert world.claudes()["web/0"]["claude_pid"] == before, "the busy Claude was not cut"
    assert wait_for(lambda: world.on("work"), SLOW, interval=0.2) == ids
    assert time.time() >= long_turn.time + claude_api.turn_seconds - 1, "after its turn"
    assert claude_api.text in world.screen("web") or real_claude.current, "its turn ended"
    early = [r for r in claude_api.requests if r.account == "work" and r.time > cut.time
             and r.time < reset]
    assert not early, f"requests on work before its reset epoch: {early}"
    time.sleep(3)  # a prompt would show by now
    for session in ("api", "web"):
        screen = _present(world, session)
        assert not any(words in screen for words in STUCK), (session, screen[-600:])
    status = world.status()
    assert status["waiting"] == []
    moved = {r["pane"]: r for r in status["sessions"] if r["claude_pid"]}
    assert {p: (r["moved_from"], r["moved_why"]) for p, r in moved.items()} == {
        "api/0": ("personal", "turn"), "web/0": ("personal", "turn")}
    swaps = status["swaps"]
    assert [(s["reason"], s["continued"]) for s in swaps[-2:]] == [("limit", 1), ("return", 0)]


def test_preempt_moves_on_the_status_line_before_any_429(
        world_with: Callable[..., World], real_claude: RealClaude, claude_api: Api) -> None:
    world = with_real_claude(world_with(autonomous_min=0), real_claude, claude_api, "2s",
                             "cooldown: 0s, grace: 0s, preempt_at: 40")
    claude_api.five_hour = 0.42
    world.start_service()
    ids = ready(world)
    world.type_in("=api:", "hello")  # a reply: its headers put 42 % in the status line
    assert wait_for(lambda: world.on("personal"), SLOW, interval=0.2) == ids
    assert not [r for r in claude_api.requests if r.answer == "limit"], "before any 429"
    record = _limit_record(world)
    assert record["source"] == "status line" and record["kind"] == "preempt five_hour"
    assert [r.prompt for r in claude_api.turns("personal")] == [], \
        "a move between turns sends nothing"


def test_words_that_look_like_a_limit_move_nothing(
        world_with: Callable[..., World], real_claude: RealClaude, claude_api: Api) -> None:
    """Claude's own answer quoting a limit, a typed line numbered like the limit menu, a
    two-line draft pasted into the input box and never sent, a 429 that is a throttle
    and not a usage limit: none is a limit."""
    world = with_real_claude(world_with(autonomous_min=0), real_claude, claude_api, "2s")
    world.start_service()
    ids = ready(world)
    claude_api.text = "That message means: You've hit your session limit · resets 8am"
    world.type_in("=api:", "what does my last error mean?")
    wait_for(lambda: "That message means" in world.screen("api"), SLOW, interval=0.2)
    world.type_in("=api:", "1. You've hit your session limit · resets 8am")
    world.tmux("set-buffer", "-b", "draft", "please explain\nYou've hit your weekly limit "
               "· resets 9am")
    world.tmux("paste-buffer", "-p", "-d", "-b", "draft", "-t", "=web:")
    wait_for(lambda: "please explain" in world.screen("web"), SLOW, interval=0.2)
    claude_api.throttled.add("work")
    world.type_in("=api:", "one more")
    wait_for(lambda: any(r.answer == "throttle" for r in claude_api.requests), SLOW,
             interval=0.2)
    cycles = world.service_cycles()
    wait_for(lambda: world.service_cycles() >= cycles + 3, SLOW, interval=0.2)
    assert world.on("work") == ids
    limits = world.sandbox.state_dir / "limits.json"
    assert json.loads(limits.read_text() if limits.exists() else "{}") == {}
    assert "please explain" in world.screen("web"), "the unsent draft is still there"
    status: Path = world.sandbox.state_dir / "signals" / "status" / home_key(
        world.sandbox.account_home("work"))
    assert {p.stem for p in status.glob("*.json")} <= set(ids.values()), \
        "one status file per session, however many refreshes"
