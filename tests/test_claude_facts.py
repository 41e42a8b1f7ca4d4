"""Every fact about Claude Code the reconciler relies on, checked against the real binary
of each supported release (``docs/CLAUDE_FACTS.md`` is the table; a release that breaks
one fails here, by name, before it breaks failover).

One Claude per release, launched by the reconciler itself, offline against the loopback
API, on an account whose token is its own: the config home, the session file and its
statuses, the process shape, the status line's JSON, the StopFailure payload, the
transcript's limit row, the limit words, the first prompt on the resume line, the exit
hint, the trust and bypass keys, the prompt words the reconciler reports, and hook
events a release does not know.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from _api import Api
from _fixtures import World, wait_for
from _realcli import SLOW, RealClaude, offline_env, ready, with_real_claude

from reconciler.claudecode import (
    HOOK_EVENTS,
    Recognised,
    api_error_row,
    home_key,
    last_resume_hint,
    last_turn_cut,
    recognise,
    session_id,
    transcript_dir,
    transcript_rows,
)
from reconciler.failover import detect, stuck_panes
from reconciler.observe import PaneFact, observe_tmux, pane_target
from reconciler.signals import SignalDir
from reconciler.statedir import StateDir

pytestmark = pytest.mark.realcli


def _json(path: os.PathLike[str] | str) -> dict[str, object] | None:
    try:
        body = json.loads(open(path, encoding="utf-8").read())  # noqa: PTH123, SIM115
    except (OSError, ValueError):
        return None
    return body if isinstance(body, dict) else None


def test_the_facts_the_reconciler_relies_on(
        world_with: Callable[..., World], real_claude: RealClaude, claude_api: Api) -> None:
    world = world_with(autonomous_min=0, dedicated=(("api", "src/api"),))
    with_real_claude(world, real_claude, claude_api, "30s")
    assert world.reconcile("apply").returncode == 0
    sid = ready(world, ("api",))["api/0"]
    home = world.sandbox.account_home("work")
    cwd = str(world.sandbox.home / "src" / "api")
    state = StateDir(world.sandbox.state_dir)

    # The config home is CLAUDE_CONFIG_DIR: the session file is in the account's home.
    row = world.claudes()["api/0"]
    pid = row["claude_pid"]
    session = wait_for(lambda: _json(home / "sessions" / f"{pid}.json"), SLOW)
    assert session_id(session["sessionId"]) == sid and session["cwd"] == cwd
    assert session["status"] == "idle", session
    # The process shape: the native binary (or node with the package), recognised by its
    # executable; the account read from its environment.
    exe = os.path.realpath(f"/proc/{pid}/exe")
    assert recognise(exe, None, frozenset()) is Recognised.CLAUDE, exe
    assert row["account"] == "work" and row["session_id"] == sid

    # A reply: the status line's JSON carries the session id and the five-hour window.
    claude_api.five_hour = 0.42
    world.type_in("=api:", "hello")
    status_file = world.sandbox.state_dir / "signals" / "status" / home_key(home) / f"{sid}.json"
    line = wait_for(lambda: (b := _json(status_file)) and isinstance(
        b.get("rate_limits"), dict) and b, SLOW, interval=0.2)
    assert line["session_id"] == sid
    window = line["rate_limits"]["five_hour"]  # type: ignore[index]
    assert window["used_percentage"] == 42 and window["resets_at"] > time.time()
    wait_for(lambda: (_json(home / "sessions" / f"{pid}.json") or {}).get("status") == "idle",
             SLOW, interval=0.1)

    # A long turn: busy while it streams, idle after.
    claude_api.turn_seconds = 4.0
    world.type_in("=api:", f"{claude_api.slow_marker}: think")
    wait_for(lambda: (_json(home / "sessions" / f"{pid}.json") or {}).get("status") == "busy",
             SLOW, interval=0.1)
    wait_for(lambda: (_json(home / "sessions" / f"{pid}.json") or {}).get("status") == "idle",
             SLOW, interval=0.1)

    # The usage limit: the StopFailure payload, the transcript row, the words.
    reset = claude_api.limit("work", seconds=3 * 3600)
    world.type_in("=api:", "one more thing")
    [(_path, spooled)] = wait_for(SignalDir(state.root).read_events, SLOW, interval=0.1)
    assert spooled is not None and spooled["home"] == home_key(home)
    event = spooled["event"]
    assert isinstance(event, dict)
    assert {k: event[k] for k in ("session_id", "error", "hook_event_name")} == {
        "session_id": sid, "error": "rate_limit", "hook_event_name": "StopFailure"}
    assert os.path.realpath(event["transcript_path"]) == os.path.realpath(
        transcript_dir(home, cwd) / f"{sid}.jsonl")
    words = str(event["last_assistant_message"])
    now = datetime.now(UTC)
    verdict = detect(words, now=now, local=UTC, said_at=now)
    assert verdict.limit and verdict.kind == "session", (words, verdict)
    assert verdict.resets_at is not None and 0 <= verdict.resets_at.timestamp() - reset < 61, \
        "words name the reset's minute: its end is never before the epoch"
    path = transcript_dir(home, cwd) / f"{sid}.jsonl"
    rows = wait_for(lambda: (r := transcript_rows(path.read_bytes())) and last_turn_cut(r)
                    and r, SLOW, interval=0.1)
    cut = last_turn_cut(rows)
    assert cut is not None and cut.rate_limited and cut.status == 429 and cut.text == words
    if real_claude.current:
        assert cut.usage_limit is True and cut.resets_at == reset and cut.window == "five_hour"
    else:
        assert cut.usage_limit is None, "the oldest release writes no limit fields"
    assert api_error_row(rows[0]) is None

    # The resume line's first prompt, after "--": the interactive session sends it.
    os.kill(pid, signal.SIGTERM)
    wait_for(lambda: last_resume_hint(world.screen("api")) == sid, SLOW, interval=0.1)
    wait_for(lambda: not (home / "sessions" / f"{pid}.json").exists(), SLOW, interval=0.1)
    del claude_api.limited["work"]
    env = " ".join(f"{k}={v}" for k, v in offline_env(world, claude_api).items())
    wait_for(lambda: world.screen("api").rstrip().endswith("$"), SLOW, interval=0.1)
    world.type_in("=api:", f" {env} CLAUDE_CONFIG_DIR={home} {real_claude.binary} "
                  f"--dangerously-skip-permissions --resume {sid} -- '-FACT first prompt'")
    try:
        wait_for(lambda: any("-FACT first prompt" in r.prompt
                             for r in claude_api.turns("work")), SLOW, interval=0.2)
    except AssertionError:
        raise AssertionError(f"no first prompt; the pane says:\n{world.screen('api')[-1500:]}"
                             f"\nthe API saw: {claude_api.requests[-5:]}") from None

    # Trust: a folder no account trusts stops at a prompt the reconciler reports.
    other = world.sandbox.root / "elsewhere"  # outside the home every account trusts
    other.mkdir()
    world.tmux("new-session", "-d", "-s", "facts", "-c", str(other), "-x", "200", "-y", "50")
    world.type_in("=facts:", f" {env} CLAUDE_CONFIG_DIR={home} {real_claude.binary} "
                  "--dangerously-skip-permissions")
    text = wait_for(lambda: (s := world.screen("facts")) and "Quick safety check" in s and s,
                    SLOW, interval=0.2)
    facts_pane = next(p for p in world_panes(world) if p.session_name == "facts")
    assert "workspace-trust" in " ".join(stuck_panes({facts_pane.pane_id: text},
                                                      [facts_pane]).values())

    # A hook event the oldest release does not know stops it at a settings dialog.
    newer = sorted(HOOK_EVENTS[real_claude.version] - HOOK_EVENTS["2.1.197"])
    if not newer:
        settings = json.loads((home / "settings.json").read_text())
        settings.setdefault("hooks", {})["Interrupt"] = [
            {"hooks": [{"type": "command", "command": "true"}]}]
        (home / "settings.json").write_text(json.dumps(settings))
        world.tmux("kill-session", "-t", "=facts")
        world.tmux("new-session", "-d", "-s", "facts2", "-c", cwd, "-x", "200", "-y", "50")
        world.type_in("=facts2:", f" {env} CLAUDE_CONFIG_DIR={home} {real_claude.binary} "
                      "--dangerously-skip-permissions")
        wait_for(lambda: "Settings Warning" in world.screen("facts2"), SLOW, interval=0.2)


def world_panes(world: World) -> list[PaneFact]:
    """Every first pane of the world's tmux server, as the observer reads them."""
    fact = observe_tmux(("-L", world.sandbox.socket_name))
    return [p for p in fact.panes if p.target == pane_target(p.session_name)]
