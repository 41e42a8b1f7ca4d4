"""`reconcile run` as a real process: edits, drift, signals, a second instance, bad edits."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

from _fixtures import World, wait_for

SLOW = 20.0  # generous waits: latency goals are measured in bench/, not asserted here


def claudes_on(world: World, account: str, count: int = 2) -> bool:
    found = world.claudes()
    return len(found) == count and all(r["account"] == account for r in found.values())


def started(world: World) -> subprocess.Popen[bytes]:
    world.add_alert_file_sink()
    service = world.start_service()
    wait_for(lambda: claudes_on(world, "work"), SLOW)
    return service


def test_desired_edit_is_converged_by_the_service(world: World) -> None:
    service = started(world)
    world.set_desired("active_account: work", "active_account: personal")
    wait_for(lambda: claudes_on(world, "personal"), SLOW)
    assert "desired state loaded" in world.service_log()
    swaps = (world.sandbox.state_dir / "swaps.jsonl").read_text()
    assert '"reason": "hand"' in swaps and '"to": "personal"' in swaps
    service.send_signal(signal.SIGTERM)
    assert service.wait(SLOW) == 0


def test_drift_is_corrected_with_one_alert_and_one_resolve(world: World) -> None:
    started(world)
    world.tmux("kill-session", "-t", "=api")
    wait_for(lambda: "api/0" in world.claudes(), SLOW)
    wait_for(lambda: any(a["state"] == "resolved" and a["kind"] == "drift"
                         for a in world.alerts()), SLOW)
    drift = [(a["state"], a["subject"]) for a in world.alerts() if a["kind"] == "drift"]
    assert drift == [("firing", "session api"), ("resolved", "session api")]


def test_drift_policy_alert_reports_and_changes_nothing(world: World) -> None:
    with world.desired.open("a") as handle:
        handle.write("drift: {policy: alert}\n")
    started(world)
    world.tmux("kill-session", "-t", "=api")
    wait_for(lambda: any(a["kind"] == "drift" for a in world.alerts()), SLOW)
    wait_for(lambda: "policy is alert" in world.service_log(), SLOW)
    assert world.tmux("has-session", "-t", "=api").returncode != 0
    assert world.reconcile("apply").returncode == 0
    wait_for(lambda: [a["state"] for a in world.alerts() if a["kind"] == "drift"]
             == ["firing", "resolved"], SLOW)


def test_invalid_edit_alerts_and_keeps_the_last_state(world: World) -> None:
    started(world)
    pids = [r["claude_pid"] for r in world.claudes().values()]
    good = world.desired.read_text()
    world.desired.write_text(good.replace("active_account: work", "active_account: [oops"))
    wait_for(lambda: any(a["kind"] == "invalid_desired" for a in world.alerts()), SLOW)
    assert "desired_state.yaml:4:" in world.alerts()[-1]["message"], "where the [ opened"
    assert all(Path(f"/proc/{pid}").exists() for pid in pids), "the last valid state stays"
    world.desired.write_text(good.replace("active_account: work", "active_account: personal"))
    wait_for(lambda: claudes_on(world, "personal"), SLOW)
    states = [a["state"] for a in world.alerts() if a["kind"] == "invalid_desired"]
    assert states == ["firing", "resolved"]


def test_sigterm_mid_cycle_exits_cleanly_and_restart_converges(world: World) -> None:
    service = started(world)
    world.set_desired("active_account: work", "active_account: personal")
    wait_for(lambda: any("remember session" in line for line in world.service_lines("action")),
             SLOW, interval=0.005)
    service.send_signal(signal.SIGTERM)
    assert service.wait(SLOW) == 0
    world.start_service(log="second.log")
    wait_for(lambda: claudes_on(world, "personal"), SLOW)


def test_a_second_instance_exits_at_once_and_the_first_goes_on(world: World) -> None:
    first = started(world)
    second = world.start_service(log="second.log")
    assert second.wait(SLOW) == 1
    assert f"another `reconcile run` (pid {first.pid}) is active" in world.service_log(
        "second.log")
    cycles = world.service_cycles()
    wait_for(lambda: world.service_cycles() > cycles, SLOW)
    first.send_signal(signal.SIGTERM)
    assert first.wait(SLOW) == 0


def test_apply_while_service_runs_is_serialized(world: World) -> None:
    started(world)
    done = world.reconcile("apply", "--lock-timeout", "30")
    assert done.returncode == 0, done.stderr
    assert world.reconcile("plan").returncode == 0


def test_crash_loop_backs_off_and_alerts(world: World) -> None:
    world.set_desired("  start_timeout: 5s",
                      "  start_timeout: 1s\n  env: {STANDIN_CLAUDE_OFFLINE: '1'}")
    world.add_alert_file_sink()
    world.start_service()
    wait_for(lambda: any(a["kind"] == "crashloop" for a in world.alerts()), 40)
    cycles = world.service_cycles()
    wait_for(lambda: world.service_cycles() >= cycles + 3, 40)  # three more cycles
    launches_by_pane = len(world.launches())
    assert launches_by_pane == 0  # the offline stand-in exits before it logs a start
    tries = [line for line in world.service_lines("action")
             if "launch claude in api/0" in line]
    assert 2 <= len(tries) <= 5, (f"{len(tries)} launch attempts (a hot loop makes dozens):\n"
                                  + "\n".join(tries))
    assert "keeps exiting right after launch" in json.dumps(world.alerts())


def test_metrics_textfile(world: World) -> None:
    metrics = world.sandbox.root / "metrics.prom"
    world.set_desired("service: {interval: 1s}",
                      f"service: {{interval: 1s, metrics_file: {metrics}}}")
    world.start_service()
    wait_for(lambda: metrics.exists() and "reconciler_last_converge_timestamp_seconds" in
             metrics.read_text() and 'result="changed"' in metrics.read_text(), SLOW)
    text = metrics.read_text()
    for name in ("last_cycle_seconds", "drift_items", "swaps_total", "crashloops",
                 "actions_total"):
        assert f"reconciler_{name}" in text
