"""Hostile worlds: read-only and full filesystems, an immutable home, concurrent
appliers, tmux dying under us, a Claude that ignores SIGTERM, file modes, secrets."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import stat
import subprocess

import pytest
from _fixtures import World, mounted, wait_for

SLOW = 30.0


def test_read_only_shared_dir_is_a_clear_failure_and_loses_nothing(world: World) -> None:
    shared = world.sandbox.home / ".claude-shared"
    for entry in ("projects", "file-history", "session-env", "todos"):
        (shared / entry).mkdir(parents=True)
    mine = world.sandbox.home / ".claude-work" / "projects" / "-p"
    mine.mkdir(parents=True)
    (mine / "t.jsonl").write_text("keep me\n")
    with mounted("--bind", "-o", "ro", str(shared), target=shared):
        subprocess.run(["mount", "-o", "remount,bind,ro", str(shared)], check=False)
        report = world.apply_json()
        merge = [r for r in report["results"] if r["action"]["key"] == "merge:work:projects"]
        assert merge[0]["status"] == "failed" and "Read-only" in merge[0]["message"]
        link = [r for r in report["results"] if r["action"]["key"] == "entry:work:projects"]
        assert link[0]["status"] == "skipped"
        assert (mine / "t.jsonl").read_text() == "keep me\n"
    assert world.apply_json()["ok"]
    assert (shared / "projects" / "-p" / "t.jsonl").read_text() == "keep me\n"


def test_full_state_disk_is_reported_and_the_loop_keeps_running(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    state = world.sandbox.state_dir
    with mounted("-t", "tmpfs", "-o", "size=64k,mode=700", "tmpfs", target=state):
        with contextlib.suppress(OSError), (state / "filler").open("wb") as filler:
            filler.write(b"x" * (1 << 20))
        done = world.reconcile("apply")
        assert done.returncode == 1 and "No space left on device" in done.stderr
        assert "Traceback" not in done.stderr
        service = world.start_service()
        wait_for(lambda: world.service_log().count("cycle failed") >= 2, SLOW)
        assert service.poll() is None, "the loop keeps running"
        (state / "filler").unlink()
        wait_for(lambda: world.service_log().count("cycle failed") >= 1 and
                 (state / "converged.json").exists(), SLOW)
        service.send_signal(signal.SIGTERM)
        assert service.wait(SLOW) == 0


def test_immutable_home_fails_clearly_and_others_converge(world: World) -> None:
    home = world.sandbox.home / ".claude-personal"
    if subprocess.run(["chattr", "+i", str(home)], capture_output=True,
                      check=False).returncode != 0:
        pytest.skip("chattr +i is not permitted here")
    try:
        report = world.apply_json()
        failed = {r["action"]["key"] for r in report["results"] if r["status"] == "failed"}
        assert failed and all(k.startswith(("entry:personal:", "signals:personal"))
                              for k in failed)
        assert (world.sandbox.home / ".claude-work" / "projects").is_symlink()
        assert world.claudes_when(2)
    finally:
        subprocess.run(["chattr", "-i", str(home)], check=False)
    assert world.apply_json()["ok"]


def test_two_applies_at_once_are_serialized_without_double_launch(world: World) -> None:
    argv_env = world.sandbox.env()
    base = ["python", "-m", "reconciler", "apply", "-f", str(world.desired), "--state-dir",
            str(world.sandbox.state_dir)]
    both = [subprocess.Popen(base, env=argv_env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=SLOW) for p in both]
    assert [p.returncode for p in both] == [0, 0], outs
    # an apply is done once each Claude runs; its own launch-log line may come a moment later
    wait_for(lambda: len(world.launches()) >= 2)
    assert len(world.launches()) == 2, "one launch per dedicated session, never two"
    assert sum("waiting for" in err for _out, err in outs) <= 1
    assert world.reconcile("plan").returncode == 0


def test_edit_during_an_apply_is_not_lost(world: World) -> None:
    world.set_desired("  stop_timeout: 3s",
                      "  stop_timeout: 2s\n  env: {STANDIN_CLAUDE_IGNORE_SIGTERM: '1'}")
    assert world.reconcile("apply").returncode == 0
    world.set_desired("active_account: work", "active_account: personal")
    slow = subprocess.Popen(["python", "-m", "reconciler", "apply", "-f", str(world.desired),
                             "--state-dir", str(world.sandbox.state_dir)],
                            env=world.sandbox.env(), stdout=subprocess.PIPE, text=True)
    assert slow.stdout is not None
    assert slow.stdout.readline().startswith("Applying"), "the apply has loaded the file"
    world.set_desired("min: 2, max: 4", "min: 3, max: 4")
    slow.communicate(timeout=SLOW)
    assert world.reconcile("apply").returncode == 0
    sessions = world.tmux("ls", "-F", "#{session_name}").stdout.split()
    assert "ccl-auto-2" in sessions, "the edit made during the first apply took effect"


def test_claude_ignoring_sigterm_is_killed_and_resumed(world: World) -> None:
    world.set_desired("  stop_timeout: 3s",
                      "  stop_timeout: 1s\n  env: {STANDIN_CLAUDE_IGNORE_SIGTERM: '1'}")
    assert world.reconcile("apply").returncode == 0
    before = {t: r["session_id"] for t, r in world.claudes_when(2).items()}
    world.set_desired("active_account: work", "active_account: personal")
    assert world.reconcile("apply").returncode == 0
    after = world.claudes_when(2)
    assert {t: r["session_id"] for t, r in after.items()} == before
    assert {r["account"] for r in after.values()} == {"personal"}


def test_tmux_server_killed_repeatedly_under_the_service(world: World) -> None:
    world.add_alert_file_sink()
    service = world.start_service()
    for _ in range(3):
        world.claudes_when(2, timeout=SLOW)
        world.tmux("kill-server")
    world.claudes_when(2, timeout=SLOW)
    assert service.poll() is None
    assert world.service_log().count("create session api") <= 6, "no hot loop"


def test_session_killed_between_observe_and_apply_is_reported(world: World) -> None:
    from reconciler.apply import RetryPolicy, apply_plan
    from reconciler.desired import load_desired
    from reconciler.observe import observe
    from reconciler.plan import plan
    from reconciler.statedir import StateDir

    assert world.reconcile("apply").returncode == 0
    pid = world.claudes_when(2)["api/0"]["claude_pid"]
    os.kill(pid, signal.SIGKILL)
    wait_for(lambda: "api/0" not in world.claudes())
    desired = load_desired(world.desired)
    state = StateDir(world.sandbox.state_dir)
    the_plan = plan(desired, observe(desired, state))
    assert "launch:api/0" in [a.key for a in the_plan.actions]
    world.tmux("kill-session", "-t", "=api")
    report = apply_plan(the_plan, desired, state, retry=RetryPolicy(attempts=2, first_wait=0.01))
    failed = [r for r in report.results if r.status.value == "failed"]
    assert [r.action.key for r in failed] == ["launch:api/0"] and failed[0].message
    assert world.apply_json()["ok"]


def test_pane_that_never_returns_to_a_prompt_is_a_conflict_not_a_loop(world: World) -> None:
    world.tmux("new-session", "-d", "-s", "api", "-c", str(world.sandbox.home / "src/api"))
    world.type_in("=api:", "sleep 600")
    wait_for(lambda: world.tmux("display", "-p", "-t", "=api:", "#{pane_current_command}")
             .stdout.strip() == "sleep")
    for _ in range(3):
        done = world.reconcile("apply")
        assert done.returncode == 1 and "runs sleep in the foreground" in done.stdout
    assert len([e for e in world.launches() if e["cwd"].endswith("src/api")]) == 0


def test_modes_and_secrets(world: World) -> None:
    token = "999999:PLANTED-secret-token"  # noqa: S105
    env_value = "sk-PLANTED-launch-env-value"
    header = "Bearer PLANTED-webhook-header"
    world.set_desired("service: {interval: 1s}", "service: {interval: 1s}\nalerts:\n"
                      "  - {type: telegram, chat_id: '1', token_env: PLANTED_TG, "
                      "api_base: 'http://127.0.0.1:9'}\n"
                      "  - {type: webhook, url: 'http://127.0.0.1:9/PLANTED-hook-path', "
                      f"headers: {{Authorization: '{header}'}}}}")
    world.set_desired("  start_timeout: 5s", f"  start_timeout: 5s\n  env: {{MY_KEY: {env_value}}}")
    env = {"PLANTED_TG": token}
    assert world.reconcile("apply", env=env).returncode == 0
    world.set_desired("active_account: work", "active_account: personal")
    outputs = [world.reconcile(*args, env=env) for args in
               (["plan", "--json"], ["status", "--json"], ["apply", "--json"])]
    world.tmux("kill-session", "-t", "=web")  # drift, so the service sends an alert
    outputs.append(world.reconcile("drift", "--json", env=env))
    run = subprocess.run(
        ["python", "-m", "reconciler", "run", "--once", "-f", str(world.desired),
         "--state-dir", str(world.sandbox.state_dir)],
        env={**world.sandbox.env(), **env}, capture_output=True, text=True, timeout=120,
        check=False)
    text = "".join(o.stdout + o.stderr for o in outputs) + run.stdout + run.stderr
    assert "alert sink telegram failed" in text, text[-2000:]
    assert '"session web"' in outputs[-1].stdout
    state_dir = world.sandbox.state_dir
    for path in state_dir.rglob("*"):
        mode = stat.S_IMODE(path.stat().st_mode)
        if path.is_dir() or path.parent.name == "bin":
            assert mode == 0o700, path
        else:
            assert mode == 0o600, path
            text += path.read_text(errors="replace")
    assert stat.S_IMODE(state_dir.stat().st_mode) == 0o700
    for backup in world.sandbox.home.glob("*.reconciler-backup"):
        assert stat.S_IMODE(backup.stat().st_mode) == 0o700
    for secret in (token, env_value, header, "PLANTED-hook-path"):
        assert secret not in text, secret
    assert json.loads(outputs[0].stdout)["active_account"] == "personal"
    assert os.environ.get("PLANTED_TG") is None


def test_an_invalid_desired_alert_names_the_key_not_the_value(world: World) -> None:
    secret = "sk-PLANTED-secret-in-a-broken-file"  # noqa: S105
    world.add_alert_file_sink()
    world.start_service()
    wait_for(lambda: world.service_cycles() >= 1, SLOW)
    world.set_desired("  start_timeout: 5s", f"  start_timeout: 5s\n  env: {{MY_KEY: [{secret}]}}")
    wait_for(lambda: any(a["kind"] == "invalid_desired" for a in world.alerts()), SLOW)
    alert = next(a for a in world.alerts() if a["kind"] == "invalid_desired")
    assert "launch.env.MY_KEY: must be of type string (the value is not shown" in alert["message"]
    log = (world.sandbox.root / "service.log").read_text()
    state = "".join(p.read_text(errors="replace") for p in world.sandbox.state_dir.rglob("*")
                    if p.is_file())
    assert secret not in json.dumps(world.alerts()) + log + state


def test_a_launch_that_never_starts_names_its_line_and_shows_no_secret(world: World) -> None:
    """The launch line left at the prompt carries the launch environment: the error names
    it and never quotes it, even for a value the shell quoting changes."""
    never = world.sandbox.root / "never-claude"
    never.write_text("#!/bin/sh\nexec sleep 600\n")
    never.chmod(0o755)
    secret = "it's-a-PLANTED-value"  # noqa: S105
    text = world.desired.read_text()
    text = re.sub(r"(?m)^  command: .*$", f"  command: {never}", text)
    text = text.replace("  start_timeout: 5s",
                        f"  start_timeout: 1s\n  env: {{MY_KEY: \"{secret}\"}}")
    world.desired.write_text(text)
    done = world.reconcile("apply", "--json")
    assert done.returncode == 1
    assert "its launch line, not run yet" in done.stdout + done.stderr, done.stdout[-1500:]
    for form in (secret, shlex.quote(secret)):
        assert form not in done.stdout + done.stderr
