"""Round three of what an attacker and a new user broke, each on real files, a real tmux
server and real processes (docs/RELIABILITY.md lists each guarantee next to its test)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from _fixtures import World, mounted, wait_for

SLOW = 30.0


def test_a_swap_that_cannot_prepare_its_target_stops_nothing(world: World) -> None:
    """The target home is read-only: carrying trust there fails before the first stop, so
    every Claude keeps running where it was, and the report says why."""
    assert world.reconcile("apply").returncode == 0
    before = {t: r["claude_pid"] for t, r in world.claudes_when(2).items()}
    home = world.sandbox.account_home("personal")
    with mounted("--bind", "-o", "ro", str(home), target=home):
        subprocess.run(["mount", "-o", "remount,bind,ro", str(home)], check=False)
        done = world.reconcile("swap", "personal", "--apply", "--json")
        report = json.loads(done.stdout)
        assert done.returncode == 1 and not report["ok"]
        by_key = {r["action"]["key"]: r for r in report["results"]}
        assert by_key["accept:personal"]["status"] == "failed"
        assert "Read-only" in by_key["accept:personal"]["message"]
        stops = [r for k, r in by_key.items() if k.startswith("stop:")]
        assert stops and all(r["status"] == "skipped" for r in stops), stops
        assert {t: r["claude_pid"] for t, r in world.claudes().items()} == before


def test_a_pane_left_in_copy_mode_is_named_with_the_key_that_leaves_it(world: World) -> None:
    """Its Claude left; the person scrolled (copy mode) and walked away: nothing is typed
    into the mode, and after three intervals a stuck_session alert names the pane and the
    key; `status` shows it; leaving the mode lets the Claude start again."""
    world.add_alert_file_sink()
    world.start_service()
    before = world.claudes_when(2)["api/0"]["claude_pid"]
    world.tmux("copy-mode", "-t", "=api:")
    os.kill(before, signal.SIGTERM)
    alert = wait_for(lambda: next((a for a in world.alerts() if a["kind"] == "stuck_session"
                                   and a["state"] == "firing"), None), SLOW)
    assert alert["subject"] == "api/0" and "press q" in alert["message"]
    assert "api/0" in world.reconcile("status").stdout.split("stuck prompts")[1]
    world.tmux("send-keys", "-t", "=api:", "q")
    wait_for(lambda: world.claudes().get("api/0"), SLOW)
    wait_for(lambda: any(a["kind"] == "stuck_session" and a["state"] == "resolved"
                         for a in world.alerts()), SLOW)


def test_a_person_clearing_a_limit_is_honoured_during_a_cooldown(world: World) -> None:
    """The cooldown spaces automatic swaps; a person's `limits clear` is not one: the
    return comes at once, and `status` said when the cooldown would have ended."""
    world.set_desired("failover: {cooldown: 0s", "failover: {cooldown: 1h")
    world.set_desired("service: {interval: 1s}", "service: {interval: 30s}")
    world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    world.type_in("=api:", "/limit")
    assert wait_for(lambda: world.on("personal"), SLOW) == ids
    assert world.reconcile("limits", "clear", "work").returncode == 0
    assert wait_for(lambda: world.on("work"), 20) == ids


def test_a_sink_that_never_answers_holds_neither_a_swap_nor_the_shutdown(world: World) -> None:
    """A webhook that accepts and never answers (20 s timeout, retried): alerts leave the
    cycle, so a swap moves every Claude as fast as ever, and SIGTERM ends the service
    within 2 s."""
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    held: list[socket.socket] = []
    threading.Thread(target=lambda: [held.append(silent.accept()[0]) for _ in range(16)],
                     daemon=True).start()
    port = silent.getsockname()[1]
    with world.desired.open("a") as handle:
        handle.write(f"alerts:\n  - {{type: webhook, url: 'http://127.0.0.1:{port}/hook', "
                     "timeout: 20s}\n")
    service = world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    world.tmux("kill-session", "-t", "=ccl-auto-1")  # drift: an alert the sink never takes
    wait_for(lambda: "alert firing drift" in world.service_log(), SLOW)
    started = time.monotonic()
    assert world.reconcile("swap", "personal").returncode == 0
    assert wait_for(lambda: world.on("personal"), SLOW) == ids
    assert time.monotonic() - started < 10, "the swap waited on the sink"
    stopping = time.monotonic()
    service.send_signal(signal.SIGTERM)
    assert service.wait(10) == 0
    assert time.monotonic() - stopping < 2, "SIGTERM waited on the sink"
    silent.close()


def test_a_settings_file_saved_by_an_editor_mid_edit_is_not_written_over(
        tmp_path: Path) -> None:
    """An editor saves settings.json by renaming a new file over it, with no lock, right
    between our read and our rename: our older copy is not renamed over theirs; the
    file is read again and our change made on their version."""
    from reconciler.apply import edit_json

    path = tmp_path / "settings.json"
    path.write_text(json.dumps({"model": "opus"}, indent=2) + "\n")
    saves = iter([{"model": "sonnet", "theirs": 1}, {"model": "sonnet", "theirs": 2}])

    def change(settings: dict[str, Any]) -> bool:
        saved = next(saves, None)
        if saved is not None:  # the editor's save lands now
            fresh = tmp_path / ".settings.json.editor"
            fresh.write_text(json.dumps(saved))
            fresh.replace(path)
        settings["statusLine"] = {"type": "command", "command": "ours"}
        return True

    assert edit_json(path, change)
    assert json.loads(path.read_text()) == {
        "model": "sonnet", "theirs": 2, "statusLine": {"type": "command", "command": "ours"}}


def test_launch_env_values_are_never_on_the_typed_line(world: World) -> None:
    """``launch.env`` goes through a 0600 file the line names and the launch removes: not
    in any pane's scrollback, not in the shell's history, not in the shell's ``ps``; in
    the Claude's environment only."""
    secret = "s3cr3t-never-TYPED-7"  # noqa: S105
    world.set_desired("  start_timeout: 5s", f"  start_timeout: 5s\n  env: {{API_TOKEN: {secret}}}")
    bash = {"SHELL": "/bin/bash"}  # bash keeps a history file (sh keeps none)
    assert world.reconcile("apply", env=bash).returncode == 0
    world.set_desired("active_account: work", "active_account: personal")
    assert world.reconcile("apply", env=bash).returncode == 0
    claudes = world.claudes_when(2)
    for row in claudes.values():
        environ = Path(f"/proc/{row['claude_pid']}/environ").read_bytes()
        assert f"API_TOKEN={secret}".encode() in environ, "the Claude has it"
    panes = world.tmux("list-panes", "-a", "-F", "#{pane_id} #{pane_pid}").stdout.split("\n")
    for pane_id, shell in (line.split() for line in panes if line):
        scrollback = world.tmux("capture-pane", "-p", "-S", "-", "-t", pane_id).stdout
        assert secret not in scrollback and "API_TOKEN" not in scrollback, scrollback[-500:]
        for part in ("cmdline", "environ"):
            assert secret.encode() not in Path(f"/proc/{shell}/{part}").read_bytes()
    assert not list((world.sandbox.state_dir / "launch").glob("*.env")), "no file is left"
    world.tmux("kill-server")  # bash writes its history as it leaves
    history = world.sandbox.home / ".bash_history"
    wait_for(history.exists, SLOW)
    assert " cd -- " in history.read_text(), "the launch lines are in the history"
    written = "".join(p.read_text(errors="replace") for root in (
        world.sandbox.home, world.sandbox.state_dir) for p in root.rglob("*")
        if p.is_file() and p.stat().st_size < 1 << 20)
    assert secret not in written, "only the desired file the person wrote holds it"


def test_ctrl_c_on_the_service_logs_its_shutdown(world: World) -> None:
    service = world.start_service()
    wait_for(lambda: world.service_cycles() >= 1, SLOW)
    service.send_signal(signal.SIGINT)
    assert service.wait(10) == 0
    log = world.service_log()
    assert "received SIGINT" in log and "stopped after" in log, log[-500:]


def test_status_with_a_broken_desired_file_shows_the_last_valid_state(world: World) -> None:
    """The service keeps running the last valid state: `status` shows that state, the
    alerts (invalid_desired among them) and the error with its line; exit 1. The copy it
    keeps for that holds no secret (a launch.env value, a webhook's path)."""
    secret = "s3cr3t-VALUE-42"  # noqa: S105
    world.set_desired("  start_timeout: 5s", f"  start_timeout: 5s\n  env: {{API_TOKEN: {secret}}}")
    world.start_service()
    wait_for(lambda: world.on("work"), SLOW)
    text = world.desired.read_text()
    world.desired.write_text(text.replace("active_account: work", "active_account: [work"))
    wait_for(lambda: any(a["kind"] == "invalid_desired" for a in
                         json.loads(world.reconcile("status", "--json").stdout)["alerts"]), SLOW)
    done = world.reconcile("status", "--json")
    body = json.loads(done.stdout)
    assert done.returncode == 1 and body["active_account"] == "work"
    assert body["desired_problems"][0].startswith(f"{world.desired}:4:")
    assert f"{world.desired}:4:" in done.stderr
    assert len([r for r in body["sessions"] if r["claude_pid"]]) == 2
    kept = (world.sandbox.state_dir / "desired.last-valid").read_text()
    assert secret not in kept and "API_TOKEN: <redacted>" in kept


def test_a_swap_by_command_under_the_service_is_recorded_once_and_a_typo_is_helped(
        world: World) -> None:
    """A new user's findings: `reconcile swap` while the service runs listed the swap
    twice (`command` and `hand`); a broken edit logged invalid_desired twice; `stauts`
    suggested nothing."""
    typo = world.reconcile("stauts")
    assert typo.returncode == 2 and "'status'" in typo.stderr, typo.stderr
    world.start_service()
    wait_for(lambda: world.on("work"), SLOW)
    assert world.reconcile("swap", "personal").returncode == 0
    wait_for(lambda: world.on("personal"), SLOW)
    good = world.desired.read_text()
    world.desired.write_text(good.replace("active_account: personal", "active_account: [x"))
    wait_for(lambda: "invalid_desired" in world.service_log(), SLOW)
    cycles = world.service_cycles()
    wait_for(lambda: world.service_cycles() >= cycles + 2, SLOW)
    rows = [json.loads(line) for line in
            (world.sandbox.state_dir / "swaps.jsonl").read_text().splitlines()]
    assert [(r["to"], r["reason"]) for r in rows] == [("personal", "command")], rows
    assert world.service_log().count("invalid_desired") == 1, world.service_log()[-1500:]
