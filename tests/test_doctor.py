"""``reconcile doctor``: which claude runs and whether failover will work with each home,
in words a person can act on, as JSON for programs, exit 0 healthy and 1 not. It reads
the login's expiry, never the token; it never changes anything."""

from __future__ import annotations

import json
from typing import Any

from _fixtures import World

from reconciler.claudecode import HOOK_EVENTS, OLDEST_SUPPORTED
from reconciler.demo import TOKEN_PREFIX


def _doctor(world: World, *extra: str, env: dict[str, str] | None = None) -> tuple[
        int, dict[str, Any], str]:
    done = world.reconcile("doctor", "--json", *extra, env=env)
    assert "Traceback" not in done.stderr, done.stderr
    assert TOKEN_PREFIX not in done.stdout + done.stderr, "a token was shown"
    return done.returncode, json.loads(done.stdout), done.stderr


def _says(body: dict[str, Any], subject: str) -> list[tuple[bool | None, str]]:
    return [(c["ok"], c["says"]) for c in body["checks"] if c["subject"] == subject]


def test_a_ready_machine_is_healthy(world: World) -> None:
    assert world.reconcile("apply").returncode == 0
    for account in ("work", "personal"):  # what the reconciler writes, every release knows
        assert set(world.settings(account)["hooks"]) <= HOOK_EVENTS[OLDEST_SUPPORTED]
    code, body, text = _doctor(world)
    assert code == 0 and body["ok"], text
    assert body["claude_version"] == body["tested"]["current"]
    assert any("inside the tested range" in says for _ok, says in _says(body, "claude"))
    for account in ("work", "personal"):
        assert _says(body, f"account {account}")[0][0] is not False


def test_what_would_not_work_is_named_with_its_fix(world: World) -> None:
    """Not logged in, first run not done, signals missing, a hook event the running
    release does not know: each a FAIL with the command that fixes it; exit 1."""
    assert world.reconcile("apply").returncode == 0
    personal = world.sandbox.account_home("personal")
    before = (personal / ".credentials.json").read_bytes()
    (personal / ".credentials.json").unlink()
    config = json.loads((personal / ".claude.json").read_text())
    del config["hasCompletedOnboarding"]
    (personal / ".claude.json").write_text(json.dumps(config))
    settings = json.loads((world.sandbox.account_home("work") / "settings.json").read_text())
    settings["hooks"]["Interrupt"] = [{"hooks": [{"type": "command", "command": "true"}]}]
    (world.sandbox.account_home("work") / "settings.json").write_text(json.dumps(settings))
    code, body, _text = _doctor(world, env={"STANDIN_CLAUDE_RELEASE": "2.1.197"})
    assert code == 1 and not body["ok"]
    assert body["claude_version"] == "2.1.197"
    failing = {(c["subject"], c["says"].split(" (")[0]): c["fix"]
               for c in body["checks"] if c["ok"] is False}
    assert any("not logged in" in says for (_s, says) in failing)
    assert any("first run" in says for (_s, says) in failing)
    [interrupt] = [c for c in body["checks"] if "Interrupt" in c["says"]]
    assert interrupt["subject"] == "account work" and interrupt["ok"] is False
    assert "settings.json" in interrupt["fix"]
    assert all(fix for fix in failing.values()), "every failure says how to fix it"
    (personal / ".credentials.json").write_bytes(before)


def test_a_newer_release_is_a_warning_and_an_older_one_a_failure(world: World) -> None:
    """The current release knows `Interrupt`: only the oldest supported release would
    stop at it, a warning; a release older than the oldest supported fails."""
    assert world.reconcile("apply").returncode == 0
    settings_path = world.sandbox.account_home("work") / "settings.json"
    settings = json.loads(settings_path.read_text())
    settings["hooks"]["Interrupt"] = [{"hooks": [{"type": "command", "command": "true"}]}]
    settings_path.write_text(json.dumps(settings))
    code, body, _text = _doctor(world)
    assert code == 0, body
    [interrupt] = [c for c in body["checks"] if "Interrupt" in c["says"]]
    assert interrupt["ok"] is None and "oldest supported" in interrupt["says"]
    code, body, _text = _doctor(world, env={"STANDIN_CLAUDE_RELEASE": "2.0.1"})
    assert code == 1 and any("older than the oldest supported" in says
                             for _ok, says in _says(body, "claude"))


def test_a_claude_the_login_shell_cannot_find_is_named(world: World) -> None:
    text = world.desired.read_text()
    command = next(line for line in text.splitlines() if "command:" in line)
    world.desired.write_text(text.replace(command, "  command: no-such-claude-here"))
    code, body, _text = _doctor(world, "--no-run")
    assert code == 1
    [(ok, says)] = _says(body, "claude")
    assert ok is False and "no-such-claude-here" in says


def test_init_and_the_plan_say_a_launch_command_no_login_shell_finds(world: World) -> None:
    """Said before a launch line is typed (init, --dry-run, apply), and by the pane's
    words after one was: never only 'claude: command not found' in a pane."""
    from reconciler.service._crashloop import exit_reason

    text = world.desired.read_text()
    command = next(line for line in text.splitlines() if "command:" in line)
    world.desired.write_text(text.replace(command, "  command: no-such-claude-here"))
    dry = world.reconcile("--dry-run")
    assert "launch" in dry.stdout and "does not find 'no-such-claude-here'" in dry.stdout, \
        dry.stdout
    made = world.reconcile("init", "--print", "--command", "no-such-claude-here")
    assert made.returncode == 0 and "does not find 'no-such-claude-here'" in made.stderr
    assert "launch.command" in exit_reason("$ no-such-claude-here\n"
                                           "bash: no-such-claude-here: command not found\n$")
