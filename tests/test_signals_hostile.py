"""Failover under attack: text that only looks like a limit, events read late or built to
overflow, one settings file shared by two homes, settings that must come back exactly,
an account that cannot take a Claude yet, a cleared preempt, broken records."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from _fixtures import World, wait_for

from reconciler.claudecode import home_key, project_slug
from reconciler.failover._evidence import pane_text

SLOW = 30.0


def quiet_cycles(world: World, count: int = 3) -> None:
    cycles = world.service_cycles()
    wait_for(lambda: world.service_cycles() >= cycles + count, SLOW)


def pane_tty(world: World, session: str) -> str:
    return world.tmux("display", "-p", "-t", f"={session}:", "#{pane_tty}").stdout.strip()


# -- text in a pane is never a limit while Claude's own signals are installed -------------

LOOKALIKES = [
    ("typed, numbered like the menu", "type", "1. You've hit your session limit · resets 8am"),
    ("Claude's own answer", "type", "/say That message means: You've hit your session limit "
                                    "· resets 8am"),
    ("a program's output on the tty", "tty", "\n  \u23bf  You've hit your session limit · "
                                             "resets 8am\n"),
]


@pytest.mark.parametrize(("name", "how", "text"), LOOKALIKES, ids=[c[0] for c in LOOKALIKES])
def test_text_that_looks_like_a_limit_moves_nothing(world: World, name: str, how: str,
                                                    text: str) -> None:
    world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    if how == "type":
        world.type_in("=api:", text)
    else:
        Path(pane_tty(world, "api")).write_text(text)
    quiet_cycles(world)
    assert world.active() == "work" and world.limits()["limits"] == {}
    assert world.on("work") == ids


def test_a_status_line_the_user_changed_does_not_make_the_pane_a_source(world: World) -> None:
    world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    path = world.sandbox.account_home("work") / "settings.json"
    mine = json.loads(path.read_text())
    mine["statusLine"] = {"type": "command", "command": "echo all mine"}
    path.write_text(json.dumps(mine))  # the StopFailure hook stays in place
    Path(pane_tty(world, "api")).write_text("\n  You've hit your session limit · resets 8am\n")
    quiet_cycles(world)
    assert world.active() == "work" and world.limits()["limits"] == {}
    assert world.on("work") == ids


def test_without_signals_the_pane_is_read_and_its_input_box_is_not(world: World) -> None:
    world.set_desired("failover: {cooldown: 0s, grace: 0s",
                      "failover: {cooldown: 0s, grace: 0s, signals: false")
    boxed = ("\u23fa Working on it\n" + "\u2500" * 40 + "\n\u276f please explain\n"
             "  You've hit your session limit · resets 8am\n" + "\u2500" * 40 + "\n")
    assert "session limit" not in pane_text(boxed, set()), "a draft in the input box"
    world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    world.type_in("=api:", "/limit")
    assert wait_for(lambda: world.on("personal"), SLOW) == ids
    [record] = world.limits()["limits"].values()
    assert record["source"] in ("transcript", "pane")


# -- events: overflow, junk, read late -------------------------------------------------------

def spool(world: World, account: str, message: str, *, said: datetime | None = None,
          name: str | None = None) -> Path:
    events = world.sandbox.state_dir / "signals" / "events"
    events.mkdir(parents=True, exist_ok=True, mode=0o700)
    stamp = (said or datetime.now(UTC)).timestamp()
    path = events / (name or f"{time.time_ns()}-1.json")
    path.write_text(json.dumps({  # "account": as the hook of the previous release wrote
        "account": account, "home": home_key(world.sandbox.account_home(account)),
        "time": stamp,
        "event": {"hook_event_name": "StopFailure", "error": "rate_limit",
                  "session_id": "11111111-2222-3333-4444-555555555555",
                  "last_assistant_message": message}}))
    return path


def test_a_reset_too_far_to_compute_is_the_default_and_the_loop_goes_on(world: World) -> None:
    world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    # ... written, it says, at the end of year 9999: a time from the future is not believed
    # (the reset would be computed from a moment that has not come)
    spool(world, "work", "You've hit your limit · resets in 99999999999 hours",
          said=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC))
    assert wait_for(lambda: world.on("personal"), SLOW) == ids
    [record] = world.limits()["limits"].values()
    assert "assuming" in record["reason"]
    log = (world.sandbox.root / "service.log").read_text()
    assert "OverflowError" not in log and "cycle_failed" not in log


def test_junk_in_the_spool_is_put_aside_and_wakes_nothing(world: World) -> None:
    world.set_desired("service: {interval: 1s}", "service: {interval: 30s}")
    world.start_service()
    wait_for(lambda: world.on("work"), SLOW)
    events = world.sandbox.state_dir / "signals" / "events"
    events.mkdir(parents=True, exist_ok=True, mode=0o700)
    (events / "notes.txt").write_text("mine\n")
    (events / "broken.json").write_text("{not json")
    (events / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    rejected = world.sandbox.state_dir / "signals" / "rejected" / "notes.txt"
    wait_for(lambda: rejected.exists() and not (events / "broken.json").exists(), SLOW)
    kept = {p.name for p in rejected.parent.iterdir()}
    assert {"notes.txt", "broken.json", "deep.json"} <= kept, "put aside, never deleted"
    cycles = world.service_cycles()
    world.type_in("=api:", "/limit")  # the next thing that happens: a real event
    wait_for(lambda: world.on("personal"), SLOW)
    assert world.service_cycles() <= cycles + 3, "no cycle ran for the junk in between"
    assert rejected.read_text() == "mine\n"
    log = world.service_log()
    assert "cycle failed" not in log and "Error" not in log, log[-2000:]


def test_a_limit_read_after_its_reset_is_not_a_new_limit(world: World) -> None:
    """The service was down when the hook fired; by the time it reads the event, the
    reset it names (a clock time) has passed: nothing moves, it is not 'tomorrow'."""
    assert world.reconcile("apply").returncode == 0
    ids = {t: r["session_id"] for t, r in world.claudes_when(2).items()}
    now = datetime.now(UTC)
    reset = now - timedelta(minutes=2)
    spool(world, "work", f"You've hit your session limit · resets "
          f"{reset.strftime('%H:%M')} (UTC)", said=now - timedelta(hours=1))
    world.start_service()
    quiet_cycles(world)
    assert world.active() == "work" and world.limits()["limits"] == {}
    assert world.on("work") == ids


# -- one settings file for two homes; settings come back exactly ------------------------------

def test_a_settings_file_shared_by_two_homes(world: World) -> None:
    work = world.sandbox.account_home("work") / "settings.json"
    personal = world.sandbox.account_home("personal") / "settings.json"
    personal.symlink_to(work)
    original = work.read_text()
    world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    wait_for(lambda: "StopFailure" in work.read_text(), SLOW)
    assert personal.is_symlink() and personal.resolve() == work, "the link stays"
    world.type_in("=api:", "/limit")
    assert wait_for(lambda: world.on("personal"), SLOW) == ids
    assert list(world.limits()["limits"]) == ["work"], "only the account that hit it"
    world.stop_services()
    assert world.reconcile("signals", "remove").returncode == 0
    assert personal.is_symlink() and json.loads(work.read_text()) == {
        **json.loads(original), "skipDangerousModePermissionPrompt": True}


@pytest.mark.parametrize(("name", "body", "kept"), [
    ("non-ASCII and tab indent", '{\n\t"theme": "dark 🌙",\n\t"x": "é"\n}\n', None),
    ("a string status line is left as it is", '{"statusLine": "echo mine"}', None),
    ("hooks: null", '{"hooks": null, "model": "opus"}\n', None),
    ("inline arrays, CRLF, number spellings",
     '{\r\n  "permissions": {"allow": ["Bash(ls)", "Read"]},\r\n  "n": 1.0, "e": 1e3\r\n}',
     None),
    ("empty hooks and a blank status line",
     '{"hooks": {}, "statusLine": {"type": "command", "command": " "}}', None),
])
def test_settings_come_back_exactly(world: World, name: str, body: str,
                                    kept: dict[str, str] | None) -> None:
    path = world.sandbox.account_home("personal") / "settings.json"
    path.write_text(body)
    assert world.reconcile("apply").returncode == 0, name
    installed = path.read_text()
    assert "StopFailure" in installed and "\\ud83c" not in installed
    assert world.reconcile("signals", "remove").returncode == 0
    if kept is None:
        assert path.read_bytes() == body.encode(), "byte for byte"
    else:
        assert json.loads(path.read_text()) == kept


def test_a_number_json_cannot_hold_leaves_the_file_alone(world: World) -> None:
    path = world.sandbox.account_home("personal") / "settings.json"
    path.write_text('{"cleanupPeriodDays": 1e400}\n')
    done = world.reconcile("apply")
    assert done.returncode == 1 and "1e400" in done.stdout
    assert path.read_text() == '{"cleanupPeriodDays": 1e400}\n'


def test_one_status_file_per_session_however_many_refreshes(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    world.claudes_when(2)
    for _ in range(5):
        world.type_in("=api:", "hello")
    folder = world.sandbox.state_dir / "signals" / "status" / home_key(
        world.sandbox.account_home("work"))
    sessions = {r["session_id"] for r in world.claudes().values()}
    wait_for(lambda: {p.stem for p in folder.glob("*.json")} == sessions, SLOW)


# -- a target that cannot take a Claude; a cleared preempt -------------------------------------

def test_a_target_that_never_finished_its_first_run_is_refused(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    before = {t: r["claude_pid"] for t, r in world.claudes_when(2).items()}
    config = world.sandbox.account_home("personal") / ".claude.json"
    body = json.loads(config.read_text())
    del body["hasCompletedOnboarding"]
    config.write_text(json.dumps(body))
    done = world.reconcile("swap", "personal", "--apply")
    assert done.returncode == 1 and "has not finished Claude's first run" in done.stdout
    assert {t: r["claude_pid"] for t, r in world.claudes().items()} == before


def test_clearing_a_preempt_brings_work_back_and_keeps_it(world: World) -> None:
    world.set_desired("failover: {cooldown: 0s, grace: 0s",
                      "failover: {cooldown: 0s, grace: 0s, preempt_at: 80, preempt_wait: 0s")
    world.start_service()
    ids = wait_for(lambda: world.on("work"), SLOW)
    world.type_in("=api:", "/usage 85")
    assert wait_for(lambda: world.on("personal"), SLOW) == ids
    done = world.reconcile("limits", "clear", "work")
    assert done.returncode == 0 and "preempt_at leaves work be" in done.stdout
    assert wait_for(lambda: world.on("work"), SLOW) == ids
    quiet_cycles(world)
    assert world.active() == "work"
    assert [s["reason"] for s in json.loads(world.reconcile("status", "--json").stdout)
            ["swaps"]][-2:] == ["preempt", "return"]


# -- records that are not what they should be ------------------------------------------------

def test_broken_records_do_not_crash_status_or_limits(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    folder = world.sandbox.state_dir / "signals" / "status" / home_key(
        world.sandbox.account_home("work"))
    folder.mkdir(parents=True, exist_ok=True)
    in_ms = int((datetime.now(UTC) + timedelta(hours=2)).timestamp() * 1000)
    (folder / "ms.json").write_text(json.dumps({"rate_limits": {
        "five_hour": {"used_percentage": 40, "resets_at": in_ms},
        "seven_day": {"used_percentage": 10, "resets_at": 10 ** 30}}}))
    history = world.sandbox.state_dir / "limits-history.jsonl"
    with history.open("a") as handle:
        handle.write("[1]\n\"text\"\n")
    history.chmod(0o600)
    for command in (["status"], ["limits"], ["limits", "--json"]):
        done = world.reconcile(*command)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    usage = json.loads(world.reconcile("limits", "--json").stdout)["usage"]["work"]
    assert usage["five_hour"]["used_percentage"] == 40 and "seven_day" not in usage
    assert world.settings("work")  # still readable JSON


def test_settings_edited_while_the_signals_are_in_keep_the_edit_when_they_go(
        world: World) -> None:
    path = world.sandbox.account_home("personal") / "settings.json"
    path.write_text('{"model": "opus"}\n')
    assert world.reconcile("apply").returncode == 0
    edited = json.loads(path.read_text())
    edited["theme"] = "light"  # the user's edit, after ours
    path.write_text(json.dumps(edited, indent=2))
    assert world.reconcile("signals", "remove").returncode == 0
    assert json.loads(path.read_text()) == {"model": "opus", "theme": "light"}


def test_a_link_planted_for_the_scripts_is_refused(world: World, tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    signals = world.sandbox.state_dir / "signals"
    signals.mkdir(parents=True, mode=0o700)
    (signals / "bin").symlink_to(elsewhere)
    done = world.reconcile("apply")
    assert "is a symbolic link" in done.stdout + done.stderr
    assert list(elsewhere.iterdir()) == [], "nothing written through the link"


def test_a_link_planted_as_the_original_settings_is_not_followed(
        world: World, tmp_path: Path) -> None:
    """The record of the user's own settings, replaced by a link to a file the attacker
    wrote (with the digest of what is in settings.json now): removal does not read it."""
    path = world.sandbox.account_home("personal") / "settings.json"
    path.write_text('{"model": "opus"}\n')
    assert world.reconcile("apply").returncode == 0
    record = world.sandbox.state_dir / "signals" / "originals" / project_slug(path.resolve())
    assert record.is_file()
    theirs = tmp_path / "theirs.json"
    theirs.write_text(json.dumps({"original": '{"theirs": true}\n',
                                  "written": hashlib.sha256(path.read_bytes()).hexdigest()}))
    record.unlink()
    record.symlink_to(theirs)
    assert world.reconcile("signals", "remove").returncode == 0
    assert "theirs" not in path.read_text()
    assert json.loads(path.read_text()) == {"model": "opus"}
    assert theirs.exists() and record.is_symlink(), "left where it is"


def test_a_status_folder_replaced_by_a_link_is_not_cleaned_through(
        world: World, tmp_path: Path) -> None:
    """A home's status folder, replaced by a link to somewhere else: nothing there is
    read as usage, and nothing there is deleted (however old it looks)."""
    assert world.reconcile("apply").returncode == 0
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    victim = elsewhere / "old.json"
    victim.write_text(json.dumps({"rate_limits": {"five_hour": {"used_percentage": 99}}}))
    old = time.time() - 30 * 86400
    os.utime(victim, (old, old))
    fresh = elsewhere / "new.json"
    in_ms = int((datetime.now(UTC) + timedelta(hours=2)).timestamp() * 1000)
    fresh.write_text(json.dumps({"rate_limits": {"five_hour": {"used_percentage": 97,
                                                               "resets_at": in_ms}}}))
    folder = world.sandbox.state_dir / "signals" / "status" / home_key(
        world.sandbox.account_home("work"))
    folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if folder.exists():
        shutil.rmtree(folder)
    folder.symlink_to(elsewhere)
    for command in (["status"], ["limits", "--json"]):
        done = world.reconcile(*command)
        assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert victim.exists() and fresh.exists(), "nothing deleted through the link"
    usage = json.loads(world.reconcile("limits", "--json").stdout)["usage"]
    assert "five_hour" not in usage.get("work", {}), "nothing read through the link"
    world.start_service()
    quiet_cycles(world)
    world.stop_services()
    assert victim.exists() and fresh.exists(), "nothing deleted through the link"
    assert folder.is_symlink(), "left where it is"
