"""A status worth watching: ``reconcile status`` (text and JSON) and ``reconcile top``
(headless, through Textual's pilot) read one snapshot of a real sandbox: the service,
each account's Claudes and usage, alerts, back-off, stuck prompts; the service's
metrics carry the same per-account figures."""

from __future__ import annotations

import asyncio
import io
import json
import re
import shlex
import sys
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from _fixtures import World, wait_for
from rich.console import Console
from textual.widgets import Static

from reconciler.claudecode import home_key
from reconciler.cli._status import (
    AccountRow,
    AlertRow,
    PaneRow,
    ServiceRow,
    Status,
    Window,
    build_status,
)
from reconciler.cli._top import TopApp
from reconciler.desired import load_desired
from reconciler.failover import Decision
from reconciler.observe import PathFact, PathKind, TmuxStatus
from reconciler.service._metrics import AccountGauge, write_metrics
from reconciler.statedir import CrashRecord, LimitRecord, StateDir

SLOW = 20.0


def screen(app: TopApp, width: int = 120) -> str:
    """What the view's widgets show, as plain text."""
    console = Console(width=width, record=True, file=io.StringIO())
    for name in ("#summary", "#accounts", "#problems"):
        console.print(app.query_one(name, Static).content)
    return console.export_text()


async def until(pilot: Any, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Let the app process its messages until ``predicate`` holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        assert loop.time() < deadline, f"timed out waiting for {predicate}"
        await pilot.pause(0.02)


def usage_files(world: World) -> str:
    folder = world.sandbox.state_dir / "signals" / "status" / home_key(
        world.sandbox.account_home("work"))
    return "".join(p.read_text() for p in folder.glob("*.json")) if folder.is_dir() else ""


def firing(world: World) -> dict[str, Any]:
    try:
        body: dict[str, Any] = json.loads((world.sandbox.state_dir / "alerts.json").read_text())
    except (OSError, ValueError):
        return {}
    return {kind: subjects for kind, subjects in body.items() if subjects}


def test_status_and_top_show_the_service_accounts_usage_alerts_and_stuck_prompts(
        world: World) -> None:
    sbx = world.sandbox
    metrics = sbx.root / "metrics.prom"
    world.set_desired("service: {interval: 1s}",
                      f"service: {{interval: 1s, metrics_file: {metrics}}}")
    assert world.reconcile("apply").returncode == 0
    world.claudes_when(2)
    StateDir(sbx.state_dir).write_crashloops({"gone/0": CrashRecord(
        3, (datetime.now(UTC) + timedelta(hours=1)).isoformat(), "t0",
        "its session was not found (No conversation found)")})
    world.type_in("=api:", "/usage 42")
    world.type_in("=web:", "/busy")
    # a Claude started by hand in a folder nobody trusted: it waits at the trust prompt
    world.type_in("=ccl-auto-0:", f"cd {sbx.root} && CLAUDE_CONFIG_DIR="
                                   f"{sbx.account_home('work')} {sbx.bin_dir / 'claude'}")
    wait_for(lambda: "five_hour" in usage_files(world), SLOW)
    service = world.start_service()
    try:
        wait_for(lambda: {"stuck_session", "crashloop"} <= set(firing(world)), SLOW)
    except AssertionError:
        raise AssertionError(f"firing: {firing(world)}\npane:\n" + world.tmux(
            "capture-pane", "-p", "-t", "=ccl-auto-0:").stdout + "\nservice:\n"
            + world.service_log() + "\nstatus:\n" + world.reconcile("status").stdout) from None
    wait_for(lambda: metrics.exists() and "reconciler_account_usage_percent" in
             metrics.read_text(), SLOW)

    done = world.reconcile("status")
    assert done.returncode == 0, done.stderr
    text = done.stdout
    assert f"service: running, pid {service.pid} since" in text
    assert "link: ~/.claude -> ~/.claude-work" in text, "paths under $HOME read ~"
    assert re.search(r"work \(active\)  3 Claude\(s\), 1 busy, in api, ccl-auto-0, web  "
                     r"\[~/\.claude-work\]", text), text
    assert re.search(r"five-hour\s+42\.0% \S+  resets \S+ \(in 4h5\dm\)", text), text
    assert "personal  no Claude  [~/.claude-personal]" in text
    assert "alerts firing: 2" in text and "stuck_session  ccl-auto-0/0" in text
    assert "crash-loop back-off: 1" in text
    assert "gone/0  exited 3 time(s) after launch; next try after" in text
    assert "stuck prompts: 1" in text
    assert "ccl-auto-0/0 is waiting at the workspace-trust prompt; not typing into it" in text
    assert "next cycle: stay: work is usable" in text

    doc = json.loads(world.reconcile("status", "--json").stdout)
    assert doc["service"]["running"] is True and doc["service"]["pid"] == service.pid
    assert doc["service"]["cycles"] >= 1 and doc["service"]["active"]["account"] == "work"
    work, personal = doc["accounts"]
    assert (work["name"], work["active"], work["claudes"], work["busy"]) == ("work", True, 3, 1)
    assert work["sessions"] == ["api", "ccl-auto-0", "web"] and work["limit"] is None
    assert work["usage"]["five_hour"]["used_percentage"] == 42
    assert datetime.fromisoformat(work["usage"]["five_hour"]["resets_at"]) > datetime.now(UTC)
    assert personal["claudes"] == 0 and personal["usage"] == {}
    assert {(a["kind"], a["subject"]) for a in doc["alerts"]} == {
        ("stuck_session", "ccl-auto-0/0"), ("crashloop", "gone/0")}
    assert doc["backoff"] == [{"target": "gone/0", "count": 3, "until": doc["backoff"][0]["until"],
                               "reason": "its session was not found (No conversation found)",
                               "held": True}]
    assert list(doc["failover"]["stuck"]) == ["ccl-auto-0/0"]
    states = {r["pane"]: r["state"] for r in doc["sessions"] if r["claude_pid"]}
    assert states == {"api/0": "idle", "web/0": "busy", "ccl-auto-0/0": "running"}

    prom = metrics.read_text()
    assert 'reconciler_account_sessions{account="work"} 3' in prom
    assert 'reconciler_account_sessions{account="personal"} 0' in prom
    assert 'reconciler_account_limited{account="work"} 0' in prom
    assert 'reconciler_account_usage_percent{account="work",window="five_hour"} 42' in prom
    assert re.search(r"^reconciler_last_converge_timestamp_seconds \d+$", prom, re.M), prom

    desired, state = load_desired(world.desired), StateDir(sbx.state_dir)

    async def drive() -> str:
        app = TopApp(lambda: build_status(desired, state))
        async with app.run_test(size=(120, 50)) as pilot:
            await until(pilot, lambda: app.shown is not None, SLOW)
            shown = screen(app)
            await pilot.press("q")
        assert app.return_code == 0
        return shown

    shown = asyncio.run(drive())
    assert "work (active)" in shown and "3 Claude(s), 1 busy" in shown
    assert re.search(r"five-hour\s+42\.0% \S+  resets in 4h5\dm", shown), shown
    assert re.search(r"web\s+web/0\s+busy", shown) and re.search(r"api\s+api/0\s+idle", shown)
    assert "~/src/api" in shown, "paths under $HOME read ~"
    assert "alert stuck_session  ccl-auto-0/0" in shown
    assert "back-off gone/0: exited 3 time(s)" in shown
    assert "stuck ccl-auto-0/0 is waiting at the workspace-trust prompt" in shown
    assert f"service running, pid {service.pid}, cycle " in shown

    # and in a real terminal: drawn, redrawn, and gone with q
    argv = [sys.executable, "-m", "reconciler", "top", "-f", str(world.desired),
            "--state-dir", str(sbx.state_dir), "--interval", "1"]
    repo = str(Path(__file__).resolve().parents[1])  # `-m reconciler` is this tree's
    world.tmux("new-session", "-d", "-s", "viewer", "-x", "120", "-y", "50", "-c", repo,
               shlex.join(argv) + "; echo TOP-EXIT=$?; sleep 600")

    def view() -> str:
        return world.tmux("capture-pane", "-p", "-t", "=viewer:").stdout

    wait_for(lambda: "work (active)" in view() and "viewer" in view(), SLOW)
    assert re.search(r"five-hour\s+42\.0% \S+  resets in 4h5\dm", view()), view()
    world.tmux("send-keys", "-t", "=viewer:", "q")
    wait_for(lambda: "TOP-EXIT=0" in view(), SLOW)


# -- the live view on snapshots made by hand: countdowns, limits, a refresh in place ------


def snapshot(now: datetime, used: float, state: str, alerts: tuple[AlertRow, ...] = (),
             limited: bool = False) -> Status:
    home = Path("/nowhere/home")
    limit = LimitRecord("work", now + timedelta(hours=2, minutes=30), "five_hour",
                        "limit reached", now, "hook") if limited else None
    pane = PaneRow("api", "dedicated", "api/0", "%1", "work", 4242,
                   "70d97d4a-5d14-5278-a909-bd44a62d8071", state, "/nowhere/home/src/api")
    return Status(
        now=now, desired=home / "desired_state.yaml", active_account="work",
        link=PathFact(home / ".claude", PathKind.LINK, home / ".claude-work"),
        tmux=TmuxStatus.UP, tmux_error="", panes=(pane,),
        accounts=(AccountRow("work", home / ".claude-work", True, ("api",), 1,
                             int(state == "busy"),
                             (Window("five_hour", used, now + timedelta(hours=1, minutes=5)),),
                             limit),
                  AccountRow("personal", home / ".claude-personal", False, (), 0, 0, (),
                             None)),
        service=ServiceRow(False), active=None, alerts=alerts, backoffs=(),
        limits=(limit,) if limit else (), decision=Decision("stay", None, "", "work is usable"),
        stuck=(), swaps=())


def test_top_redraws_in_place_and_r_reads_again() -> None:
    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    shots: Iterator[Status] = iter([
        snapshot(now, 12.0, "idle"),
        snapshot(now + timedelta(minutes=5), 97.0, "busy",
                 (AlertRow("limit", "work", "limit reached (from the hook)"),),
                 limited=True)])

    async def drive() -> tuple[str, str, bool]:
        app = TopApp(lambda: next(shots), interval=3600)
        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: app.shown is not None)
            first, widget = screen(app, 100), app.query_one("#accounts")
            first_shown = app.shown
            await pilot.press("r")
            await until(pilot, lambda: app.shown is not first_shown)
            second = screen(app, 100)
            same = widget is app.query_one("#accounts")
            await pilot.press("q")
        return first, second, same

    first, second, same = asyncio.run(drive())
    assert same, "the view is redrawn in place, not rebuilt"
    assert re.search(r"five-hour\s+12\.0% \S+  resets in 1h05m", first), first
    assert "service not running" in first and "no alerts, no back-off" in first
    assert re.search(r"api\s+api/0\s+idle\s+70d97d4a\s+/nowhere/home/src/api", first), first
    assert re.search(r"five-hour\s+97\.0% \S+  resets in 1h05m", second), second
    assert "limited (five_hour) for 2h30m, from the hook" in second
    assert "alert limit  work: limit reached (from the hook)" in second
    assert re.search(r"api\s+api/0\s+busy", second)


def test_top_keeps_the_last_snapshot_when_the_next_cannot_be_read() -> None:
    from reconciler.errors import ReconcilerError

    now = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)
    calls = iter([snapshot(now, 50.0, "idle")])

    def load() -> Status:
        for shot in calls:
            return shot
        raise ReconcilerError("desired_state.yaml:4: active_account: no account 'wrok'")

    async def drive() -> str:
        app = TopApp(load, interval=3600)
        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: app.shown is not None)
            await app.action_reload()
            shown = screen(app, 160)
            await pilot.press("q")
        return shown

    shown = asyncio.run(drive())
    assert "cannot read the status: desired_state.yaml:4" in shown
    assert "showing the last one" in shown and "50.0%" in shown


def test_metrics_are_exact_numbers_with_per_account_labels(tmp_path: Path) -> None:
    path = tmp_path / "m.prom"
    write_metrics(path, {"last_converge_timestamp_seconds": 1795560123,
                         "last_cycle_seconds": 0.125, "drift_items": 0},
                  {"ok": 3}, [AccountGauge("work", 2, False, True, {"five_hour": 42.5,
                                                                     "seven_day": 5.0}),
                              AccountGauge('we"ird', 0, True, False)])
    text = path.read_text()
    assert "reconciler_last_converge_timestamp_seconds 1795560123\n" in text
    assert "reconciler_last_cycle_seconds 0.125\n" in text
    assert 'reconciler_account_sessions{account="work"} 2\n' in text
    assert 'reconciler_account_active{account="work"} 1\n' in text
    assert 'reconciler_account_limited{account="we\\"ird"} 1\n' in text
    assert 'reconciler_account_usage_percent{account="work",window="five_hour"} 42.5\n' in text
    assert 'reconciler_account_usage_percent{account="work",window="seven_day"} 5\n' in text
    assert "e+" not in text


def test_top_without_a_desired_file_is_an_error_not_a_blank_screen(tmp_path: Path) -> None:
    import subprocess

    done = subprocess.run([sys.executable, "-m", "reconciler", "top", "-f",
                           str(tmp_path / "missing.yaml"), "--state-dir", str(tmp_path / "s")],
                          capture_output=True, text=True, timeout=30, check=False,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 1 and "missing.yaml" in done.stderr, done
    assert "\x1b[" not in done.stdout, "no screen was drawn"


def test_a_service_whose_last_cycle_is_far_behind_its_interval_is_flagged() -> None:
    from types import SimpleNamespace

    from reconciler.cli._render import late

    now = datetime(2026, 11, 25, 4, 0, tzinfo=UTC)
    seen = SimpleNamespace(now=now)
    on_time = ServiceRow(True, 42, "x", 9, (now - timedelta(seconds=20)).isoformat(), 30.0)
    stuck = ServiceRow(True, 42, "x", 9, (now - timedelta(minutes=10)).isoformat(), 30.0)
    assert late(on_time, seen) == ""  # type: ignore[arg-type]
    assert "LATE: no cycle for 600s" in late(stuck, seen)  # type: ignore[arg-type]
