"""Failover from Claude's own signals (the stand-in fires them as 2.1.197 does): the
StopFailure hook, the status line's usage, limits the user can list and clear, and a
move that never strands a Claude at a prompt."""

from __future__ import annotations

import json
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _fixtures import World, wait_for

SLOW = 30.0
MINE = {"model": "opus", "statusLine": {"type": "command", "command": "echo my-own-line",
                                        "padding": 2},
        "hooks": {"StopFailure": [{"hooks": [{"type": "command", "command": "true"}]}],
                  "Stop": [{"hooks": [{"type": "command", "command": "true"}]}]}}












def test_signals_are_merged_the_users_status_line_prints_and_removal_restores(
        world: World) -> None:
    path = world.sandbox.account_home("work") / "settings.json"
    original = {**MINE, "skipDangerousModePermissionPrompt": True}
    path.write_text(json.dumps(original, indent=1))
    assert world.reconcile("apply").returncode == 0
    merged = world.settings("work")
    assert merged["model"] == "opus" and merged["hooks"]["Stop"] == MINE["hooks"]["Stop"]
    assert merged["hooks"]["StopFailure"][0] == MINE["hooks"]["StopFailure"][0]
    assert len(merged["hooks"]["StopFailure"]) == 2
    assert merged["statusLine"]["padding"] == 2
    assert merged["statusLine"]["command"].endswith("/signals/bin/statusline -- 'echo my-own-line'")
    world.claudes_when(2)
    wait_for(lambda: "my-own-line" in world.screen("api"), SLOW)
    assert world.reconcile("apply").returncode == 0 and world.settings("work") == merged
    scripts = world.sandbox.state_dir / "signals" / "bin"
    (scripts / "stop-failure").rename(scripts / "stop-failure.gone")  # deleted by someone
    assert "install" in world.reconcile("--dry-run").stdout, "a hook without its script"
    assert world.reconcile("apply").returncode == 0 and (scripts / "stop-failure").exists()
    assert world.reconcile("signals", "remove").returncode == 0
    assert path.read_text() == json.dumps(original, indent=1), "given back byte for byte"
    assert not (world.sandbox.account_home("personal") / "settings.json").exists(), \
        "a file the signals created, and nothing else wrote to, goes with them"


def test_a_limit_from_the_hook_moves_everything_at_once(world: World) -> None:
    world.set_desired("service: {interval: 1s}", "service: {interval: 30s}")
    world.add_alert_file_sink()
    world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    cycles = world.service_cycles()
    started = time.monotonic()
    world.type_in("=api:", "/limit")  # 2.1.197's words, five hours ahead, and the hook
    assert wait_for(lambda: world.on("personal"), SLOW) == ids
    took = time.monotonic() - started
    assert world.service_cycles() <= cycles + 4, "moved by the event, not by the 30 s clock"
    assert took < 25, took
    [record] = world.limits()["limits"].values()
    assert record["account"] == "work" and record["source"] == "hook"
    assert record["text"].startswith("You've hit your 5-hour limit")  # the current words
    history = [h["event"] for h in world.limits()["history"]]
    assert history == ["detected"]


def test_text_typed_at_the_prompt_is_never_a_limit(world: World) -> None:
    world.start_service()
    wait_for(lambda: world.on("work"), SLOW)
    world.type_in("=api:", "why does it say: You've hit your limit · resets 8am")
    wait_for(lambda: "why does it say" in world.screen("api"))
    cycles = world.service_cycles()
    wait_for(lambda: world.service_cycles() >= cycles + 3, SLOW)
    assert world.active() == "work" and world.limits()["limits"] == {}


def test_preempt_moves_each_claude_as_its_turn_ends(world: World) -> None:
    """``preempt_at`` swaps at once; the idle Claude moves at once, the busy one when its
    turn ends, never cut mid-turn (``move_wait`` is far)."""
    world.set_desired("failover: {cooldown: 0s, grace: 0s",
                      "failover: {cooldown: 0s, grace: 0s, preempt_at: 80, move_wait: 1h")
    world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    busy_pid = world.claudes()["web/0"]["claude_pid"]
    world.type_in("=web:", "/busy")
    world.type_in("=api:", "/usage 85")

    def split() -> dict[str, Any] | None:
        rows = world.claudes()
        return rows if rows.get("api/0", {}).get("account") == "personal" and rows.get(
            "web/0", {}).get("account") == "work" else None

    wait_for(split, SLOW)
    assert world.active() == "personal"
    cycles = world.service_cycles()
    wait_for(lambda: world.service_cycles() >= cycles + 3, SLOW)
    rows = world.claudes()
    assert rows["web/0"]["claude_pid"] == busy_pid, "a busy Claude is not cut mid-turn"
    [waiting] = world.status()["waiting"]
    assert waiting["pane"] == "web/0" and waiting["to"] == "personal"
    world.type_in("=web:", "/idle")
    assert wait_for(lambda: world.on("personal"), SLOW) == ids
    [record] = world.limits()["limits"].values()
    assert record["kind"] == "preempt five_hour" and record["source"] == "status line"


def test_a_cleared_limit_brings_everything_back(world: World) -> None:
    """At once: the service wakes on the cleared limit, not on its 30 s clock."""
    world.set_desired("service: {interval: 1s}", "service: {interval: 30s}")
    service = world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    world.type_in("=api:", "/limit")
    wait_for(lambda: world.on("personal"), SLOW)
    cycles = world.service_cycles()
    assert world.reconcile("limits", "clear", "work").returncode == 0
    # well before the service's next cycle by the clock (30 s)
    assert wait_for(lambda: world.on("work"), 20) == ids
    assert world.service_cycles() <= cycles + 4, "moved back by the clear, not by the clock"
    for _ in range(2):  # two more cycles now (SIGHUP: reload), not 30 s apart
        cycles = world.service_cycles()
        service.send_signal(signal.SIGHUP)
        wait_for(lambda: world.service_cycles() > cycles, SLOW)  # noqa: B023
    assert world.active() == "work", "the old evidence does not bring the limit back"


def test_limits_import_keeps_the_later_reset(world: World, tmp_path: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    later = {"account": "work", "resets_at": (now + timedelta(days=3)).isoformat(),
             "kind": "weekly", "reason": "seen on host b", "detected_at": now.isoformat(),
             "source": "hook"}
    earlier = {**later, "resets_at": (now + timedelta(days=2)).isoformat()}
    for body, expected in ((later, ["work"]), (earlier, []), (later, [])):
        path = tmp_path / "limits.json"
        path.write_text(json.dumps({"limits": {"work": body}}))
        done = world.reconcile("limits", "import", str(path), "--json")
        assert json.loads(done.stdout)["imported"] == expected
    assert world.limits()["limits"]["work"]["resets_at"] == later["resets_at"]
    assert "limited: work (weekly)" in world.reconcile("status").stdout
    path.write_text(json.dumps({"limits": {
        "w": {**later, "account": "wrok"},
        "p": {**later, "account": "personal", "resets_at": "9999-12-31T00:00:00+00:00"}}}))
    done = world.reconcile("limits", "import", str(path), "--json")
    assert json.loads(done.stdout)["imported"] == []
    assert "no account 'wrok' here" in done.stderr and "more than 36 days out" in done.stderr


def test_a_logged_out_target_is_refused_and_nothing_is_stopped(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    before = {t: r["claude_pid"] for t, r in world.claudes_when(2).items()}
    (world.sandbox.account_home("personal") / ".credentials.json").unlink()
    world.set_desired("active_account: work", "active_account: personal")
    done = world.reconcile("apply")
    assert done.returncode == 1 and "personal is not logged in" in done.stdout
    assert {t: r["claude_pid"] for t, r in world.claudes().items()} == before


def _limit_spooled(world: World) -> None:
    """``/limit`` in the api Claude, and its StopFailure event waiting in the spool."""
    events = world.sandbox.state_dir / "signals" / "events"
    world.type_in("=api:", "/limit")
    wait_for(lambda: list(events.glob("*.json")), SLOW)


def test_run_once_applies_the_move_its_own_failover_made(world: World) -> None:
    """For cron: one `run --once` reads the limit, swaps, and moves every Claude."""
    assert world.reconcile("apply").returncode == 0
    ids = wait_for(lambda: world.on("work"), SLOW)
    _limit_spooled(world)
    waiting = world.reconcile("limits")
    assert "1 signal(s) from Claude not read yet" in waiting.stdout, waiting.stdout
    done = world.reconcile("run", "--once")
    assert done.returncode == 0, done.stdout + done.stderr
    assert world.active() == "personal"
    assert world.on("personal") == ids, "moved in the same run, not at the next one"
    assert "failover: work hit its limit" in done.stdout + done.stderr


def test_failover_never_moves_to_a_logged_out_account(world: World) -> None:
    """Under the service too: the file is not rewritten for a move that cannot be made,
    nothing is stopped, and the alert says why."""
    world.add_alert_file_sink()
    assert world.reconcile("apply").returncode == 0
    before = {t: r["claude_pid"] for t, r in world.claudes_when(2).items()}
    (world.sandbox.account_home("personal") / ".credentials.json").unlink()
    _limit_spooled(world)
    assert world.reconcile("run", "--once").returncode == 0
    assert world.active() == "work"
    assert {t: r["claude_pid"] for t, r in world.claudes().items()} == before
    firing = [a for a in world.alerts() if a["state"] == "firing"]
    assert any(a["kind"] == "failover" and "does not move to personal" in a["message"]
               and "not logged in" in a["message"] for a in firing), firing
    assert not any("moved off" in a["message"] for a in firing)


def test_acceptances_are_carried_so_no_prompt_strands_the_move(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    ids = {t: r["session_id"] for t, r in world.claudes_when(2).items()}
    world.set_desired("active_account: work", "active_account: personal")
    done = world.reconcile("apply")
    assert done.returncode == 0 and "carry to personal" in done.stdout
    assert world.on("personal") == ids
    home = world.sandbox.account_home("personal")
    projects = json.loads((home / ".claude.json").read_text())["projects"]
    assert all(projects[str(world.sandbox.home / p)]["hasTrustDialogAccepted"]
               for p in ("src/api", "src/web"))
    assert world.settings("personal")["skipDangerousModePermissionPrompt"] is True
    for session in ("api", "web"):
        assert "Quick safety check" not in world.screen(session)
        assert "Bypass Permissions" not in world.screen(session)
