"""The reconciler with the real `claude` CLI from npm (pinned: see VERSION), offline,
against the loopback API stand-in (``tests/_api.py``).

A 429 makes the real CLI fire its StopFailure hook, which the service picks up at once
(with a 30 s interval) and every Claude moves to the next account with its own id,
trusted there with no prompt; ``preempt_at`` moves them on the status line's usage
before any 429; the user's own status line still prints. Skipped, with the reason, only
where npm cannot fetch the CLI.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from _api import Api
from _fixtures import World, wait_for

from reconciler.claudecode import home_key

VERSION = "2.1.197"
PACKAGE = f"@anthropic-ai/claude-code@{VERSION}"
CACHE = Path(os.environ.get("RECONCILER_CLAUDE_NPM_CACHE",
                            f"/tmp/reconciler-claude-npm-{VERSION}"))
SLOW = 60.0

pytestmark = pytest.mark.realcli


@pytest.fixture(scope="session")
def real_claude() -> Path:
    binary = CACHE / "node_modules" / ".bin" / "claude"
    if not binary.exists():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed: the real claude CLI cannot be fetched")
        done = subprocess.run([npm, "install", "--no-audit", "--no-fund", "--prefix",
                               str(CACHE), PACKAGE], capture_output=True, text=True,
                              timeout=600, check=False)
        if done.returncode != 0 or not binary.exists():
            pytest.skip(f"npm install {PACKAGE} failed: {done.stderr.strip()[-300:]}")
    version = subprocess.run([str(binary), "--version"], capture_output=True, text=True,
                             timeout=60, check=False, env={**os.environ,
                                                           "DISABLE_AUTOUPDATER": "1"})
    assert version.stdout.startswith(VERSION), version.stdout + version.stderr
    return binary


def with_real_claude(world: World, claude: Path, api: Api, interval: str,
                     failover: str = "failover: {cooldown: 0s, grace: 0s}") -> World:
    """The sandbox's launch command becomes the real CLI, offline, as the facts say; the
    user has a status line of their own in the work account."""
    tmp = world.sandbox.root / "tmp"
    tmp.mkdir()
    env = {"ANTHROPIC_BASE_URL": api.url, "CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat-offline",
           "IS_SANDBOX": "1", "DISABLE_AUTOUPDATER": "1",
           "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1", "TMPDIR": str(tmp)}
    text = world.desired.read_text()
    command = next(line for line in text.splitlines() if "command:" in line and "claude" in line)
    text = text.replace(command, f"  command: {claude} --dangerously-skip-permissions")
    text = text.replace("  start_timeout: 5s", f"  start_timeout: 30s\n  env: {json.dumps(env)}")
    text = text.replace("service: {interval: 1s}", f"service: {{interval: {interval}}}")
    text = text.replace("failover: {cooldown: 0s, grace: 0s}", failover)
    world.desired.write_text(text)
    settings = world.sandbox.account_home("work") / "settings.json"
    mine = json.loads(settings.read_text())
    mine["statusLine"] = {"type": "command", "command": "echo USER-STATUS-LINE"}
    settings.write_text(json.dumps(mine))
    return world






def ready(world: World) -> dict[str, str]:
    """Both real Claudes up on work, at their prompt, the user's status line showing."""
    ids: dict[str, str] = wait_for(lambda: world.on("work"), SLOW, interval=0.2)
    wait_for(lambda: all("USER-STATUS-LINE" in world.screen(s) for s in ("api", "web")),
             SLOW, interval=0.2)
    return ids


def test_a_429_moves_every_claude_at_once_and_nothing_strands(
        world_with: Callable[..., World], real_claude: Path, claude_api: Api) -> None:
    world = with_real_claude(world_with(autonomous_min=0), real_claude, claude_api, "30s")
    world.start_service()
    ids = ready(world)
    claude_api.mode = "limit"
    cycles = world.service_cycles()
    started = time.monotonic()
    world.type_in("=api:", "hello")
    moved = wait_for(lambda: world.on("personal"), SLOW, interval=0.1)
    took = time.monotonic() - started
    print(f"\n429 -> every Claude resumed on personal: {took:.2f} s")
    assert moved == ids
    assert world.service_cycles() <= cycles + 4, "moved by the hook, not by the 30 s clock"
    record = json.loads((world.sandbox.state_dir / "limits.json").read_text())["work"]
    assert record["source"] == "hook" and "session limit" in record["text"]
    claude_api.mode = "reply"
    for session in ("api", "web"):  # at the prompt on personal, not at a trust/disclaimer one
        wait_for(lambda s=session: "bypass permissions on" in world.screen(s).split(
            "Resume this session")[-1], SLOW, interval=0.2)
        assert "Quick safety check" not in world.screen(session)
        assert "Bypass Permissions mode" not in world.screen(session)


def test_preempt_moves_on_the_status_line_before_any_429(
        world_with: Callable[..., World], real_claude: Path, claude_api: Api) -> None:
    world = with_real_claude(world_with(autonomous_min=0), real_claude, claude_api, "2s",
                             "failover: {cooldown: 0s, grace: 0s, preempt_at: 40}")
    claude_api.five_hour = 0.42
    world.start_service()
    ids = ready(world)
    world.type_in("=api:", "hello")  # a reply: its headers put 42 % in the status line
    assert wait_for(lambda: world.on("personal"), SLOW, interval=0.2) == ids
    assert not [r for r in claude_api.requests if r.endswith(" limit")], "before any 429"
    record = json.loads((world.sandbox.state_dir / "limits.json").read_text())["work"]
    assert record["source"] == "status line" and record["kind"] == "preempt five_hour"


def test_words_that_look_like_a_limit_move_nothing(
        world_with: Callable[..., World], real_claude: Path, claude_api: Api) -> None:
    """Claude's own answer quoting a limit, a typed line numbered like the limit menu, a
    two-line draft pasted into the input box and never sent: none is a limit."""
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
    cycles = world.service_cycles()
    wait_for(lambda: world.service_cycles() >= cycles + 3, SLOW, interval=0.2)
    assert world.on("work") == ids
    assert json.loads((world.sandbox.state_dir / "limits.json").read_text()
                      if (world.sandbox.state_dir / "limits.json").exists() else "{}") == {}
    assert "please explain" in world.screen("web"), "the unsent draft is still there"
    status = world.sandbox.state_dir / "signals" / "status" / home_key(
        world.sandbox.account_home("work"))
    assert {p.stem for p in status.glob("*.json")} <= set(ids.values()), \
        "one status file per session, however many refreshes"
