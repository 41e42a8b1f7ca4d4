"""The stand-in claude as each supported release: what 2.1.197 and 2.1.337 do differently
(limit words and rows, what follows a limit, the resume hint, the trust dialog, hook events
a release does not know) and what both do (a first prompt on the command line, busy turns,
the session file's fields). Tables hold the cases; each row is one real-CLI observation.
"""

from __future__ import annotations

import importlib.util
import json
import re
import signal
import time
import uuid
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import test_standin
from _fixtures import read_launch_log, wait_for
from test_standin import CURRENT, HINT, OLDEST, as_release

from reconciler.claudecode import HOOK_EVENTS, RELEASES, last_resume_hint
from reconciler.demo import Sandbox
from reconciler.demo._sandbox import STANDIN

claudes, start, release = test_standin.claudes, test_standin.start, test_standin.release
"""The stand-in fixtures, shared: pytest finds a fixture by the module attribute's name."""

CLOCK = r"(?:[A-Z][a-z]{2} \d{1,2}, )?(?:1[0-2]|[1-9])(?::(?:0[1-9]|[1-5]\d))?[ap]m"
"""A reset as Claude words it: ``2:12am``, ``2am`` (never ``2:00am``), ``Dec 13, 1:42am``."""
RESUMED = ("Your claude.ai usage limit has reset. Continue the task you were working on "
           "when the limit was reached; do not repeat work that is already complete.")
FAST = {"STANDIN_CLAUDE_AUTO_DELAY": "0.2", "STANDIN_CLAUDE_TURN_SECONDS": "0.2"}


def settings(sandbox: Sandbox, account: str = "work", **values: Any) -> Path:
    """Add ``values`` to an account's settings.json (the sandbox's keeps its bypass key)."""
    path = sandbox.account_home(account) / "settings.json"
    body = json.loads(path.read_text()) if path.exists() else {}
    path.write_text(json.dumps({**body, **values}))
    return path


def hook_log(sandbox: Sandbox, **more: Any) -> Path:
    """StopFailure hooks of the work account append their stdin to this file."""
    log = sandbox.root / "stop_failure.jsonl"
    settings(sandbox, hooks={"StopFailure": [{"hooks": [
        {"type": "command", "command": f"cat >> {log}; echo >> {log}"}]}]}, **more)
    return log


def payloads(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


def load_standin() -> ModuleType:
    spec = importlib.util.spec_from_file_location("standin_claude_under_test", STANDIN)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_two_releases_are_the_matrix() -> None:
    assert {OLDEST, CURRENT} == set(RELEASES.values())


# -- the release switch ------------------------------------------------------------------

@pytest.mark.parametrize(("value", "says"), [
    (None, "2.1.337 (stand-in)"),
    ("2.1.337", "2.1.337 (stand-in)"),
    ("2.1.197", "2.1.197 (stand-in)"),
    ("2.1.200", "2.1.200 (stand-in)"),
    ("2.0.1", "2.0.1 (stand-in)"),
    ("", "2.1.337 (stand-in)"),
], ids=["unset", "current", "oldest", "another", "older", "empty"])
def test_version_names_the_release(sandbox: Sandbox, start: Any, value: str | None,
                                   says: str) -> None:
    claude = start("--version", env={} if value is None else {"STANDIN_CLAUDE_RELEASE": value})
    code, out, _err = claude.finish()
    assert (code, out) == (0, f"{says}\n")
    assert not (claude.home / "sessions").exists() and read_launch_log(sandbox) == []


# -- a usage limit -----------------------------------------------------------------------

@pytest.mark.parametrize(("epoch", "now", "said"), [
    (1796696520, 1796696000, "2:22am"),  # 2026-12-08 02:22:00 UTC
    (1796696579, 1796696000, "2:22am"),  # rounded down to its minute
    (1796695200, 1796690000, "2am"),  # :00 dropped
    (1796731200, 1796690000, "12pm"),
    (1797125220, 1796696000, "Dec 13, 1:27am"),  # over a day away: the date too
], ids=["minutes", "seconds-dropped", "on-the-hour", "noon", "days-away"])
def test_a_reset_is_worded_like_claude(epoch: int, now: int, said: str) -> None:
    assert load_standin().clock(epoch, now) == said
    assert re.fullmatch(CLOCK, said)


LIMITS = [  # (release, typed, the words, the window)
    (OLDEST, "/limit", rf"You've hit your session limit · resets ({CLOCK}) \(UTC\)", "five_hour"),
    (CURRENT, "/limit", rf"You've hit your 5-hour limit · resets ({CLOCK}) \(UTC\)", "five_hour"),
    (OLDEST, "/limit weekly", rf"You've hit your weekly limit · resets ({CLOCK}) \(UTC\)",
     "seven_day"),
    (CURRENT, "/limit weekly", rf"You've hit your weekly limit · resets ({CLOCK}) \(UTC\)",
     "seven_day"),
    (OLDEST, "/limit 90", r"Claude AI usage limit reached\|(\d+)", "five_hour"),
    (CURRENT, "/limit 90", r"Claude AI usage limit reached\|(\d+)", "five_hour"),
]


@pytest.mark.parametrize(("version", "typed", "words", "window"), LIMITS,
                         ids=[f"{r}-{t}" for r, t, _w, _k in LIMITS])
def test_limit_words_and_row(sandbox: Sandbox, start: Any, version: str, typed: str,
                             words: str, window: str) -> None:
    log = hook_log(sandbox)
    claude = start(env=as_release(version))
    sid = claude.session()["sessionId"]
    claude.type(typed)
    claude.type("/exit")
    _code, out, _err = claude.finish()
    [row] = [r for r in claude.transcript(sid) if r.get("isApiErrorMessage")]
    text = row["message"]["content"][0]["text"]
    match = re.fullmatch(words, text)
    assert match, text
    assert f"  \u23bf  {text}" in out
    assert (row["type"], row["error"], row["apiErrorStatus"]) == ("assistant", "rate_limit", 429)
    new_keys = {"apiError", "apiErrorType", "apiErrorParams", "quotaLimits"}
    if version == OLDEST:
        assert not new_keys & row.keys()
    else:
        reset = row["quotaLimits"]["resetsAt"]
        info = {"status": "rejected", "resetsAt": reset, "rateLimitType": window,
                "isUsingOverage": False}
        assert (row["apiError"], row["apiErrorType"]) == ("usage_limit_reached",
                                                          "rate_limit_error")
        assert row["apiErrorParams"] == {"rate_limit_info": info, "plan_limit_line": text}
        assert row["quotaLimits"] == {**info, "unifiedRateLimitFallbackAvailable": False}
        if typed == "/limit 90":
            assert str(reset) == match.group(1)
        else:
            assert load_standin().clock(reset) == match.group(1)
    [payload] = payloads(log)
    assert payload == {"session_id": sid, "transcript_path": payload["transcript_path"],
                       "cwd": str(claude.cwd), "prompt_id": payload["prompt_id"],
                       "hook_event_name": "StopFailure", "error": "rate_limit",
                       "last_assistant_message": text}
    assert uuid.UUID(payload["prompt_id"]) and Path(payload["transcript_path"]).exists()


AFTER_LIMIT = [  # (release, settings, typed, menu shown, waiting at it, continues by itself)
    (OLDEST, {}, "/limit 1", ["1. Stop and wait for limit to reset", "2. Upgrade your plan"],
     True, False),
    (OLDEST, {"autoContinueAtUsageLimit": True}, "/limit 1",
     ["1. Stop and wait for limit to reset", "2. Upgrade your plan"], True, False),
    (CURRENT, {}, "/limit 1", [], False, True),
    (CURRENT, {"autoContinueAtUsageLimit": True}, "/limit 1", [], False, True),
    (CURRENT, {"autoContinueAtUsageLimit": False}, "/limit 1",
     ["1. Stop and wait for limit to reset",
      "2. Wait here, then continue automatically at ", "3. Upgrade your plan"], True, False),
    (CURRENT, {}, "/limit weekly",  # a reset over a day away: the menu, with its date
     ["1. Stop and wait for limit to reset", "2. Wait here, then continue automatically "
      "at ", "3. Upgrade your plan"], True, False),
]


@pytest.mark.parametrize(("version", "extra", "typed", "menu", "waits", "continues"),
                         AFTER_LIMIT, ids=["197", "197-setting-ignored", "337", "337-on",
                                           "337-off", "337-weekly"])
def test_what_follows_a_limit(sandbox: Sandbox, start: Any, version: str,
                              extra: dict[str, Any], typed: str, menu: list[str],
                              waits: bool, continues: bool) -> None:
    log = hook_log(sandbox, **extra)
    claude = start(env={**as_release(version), **FAST})
    sid = claude.session()["sessionId"]
    claude.type(typed)
    if waits:
        wait_for(lambda: claude.session()["status"] == "waiting")
        assert claude.session()["waitingFor"] == "dialog open"
    wait_for(lambda: payloads(log) if log.exists() else None)
    if continues:
        wait_for(lambda: claude.transcript(sid)[-2].get("isMeta"), timeout=8)
        wait_for(lambda: claude.session()["status"] == "idle")
    else:
        time.sleep(1.6)  # past the reset, and past the continue's delay
    status = claude.session()
    claude.type("/exit")
    _code, out, _err = claude.finish()
    rows = claude.transcript(sid)
    assert ("What do you want to do?" in out) == bool(menu)
    for option in menu:
        assert option in out
    assert ("Enter to confirm · Esc to cancel" in out) == bool(menu)
    metas = [r for r in rows if r.get("isMeta")]
    if continues:
        assert status["status"] == "idle" and "waitingFor" not in status
        at = re.search(rf"∷ Usage limit reached · set to continue automatically at ({CLOCK})\n",
                       out)
        assert at, out
        assert f"Continuing automatically at {at.group(1)} · Esc to cancel" in out
        assert "∷ Usage limit reset · Continuing automatically" in out
        [meta] = metas
        assert meta["type"] == "user" and meta["message"]["content"] == RESUMED
        assert rows[-1]["type"] == "assistant" and not rows[-1].get("isApiErrorMessage")
        assert rows.index(meta) == len(rows) - 2
    else:
        assert not metas and "Continuing automatically" not in out
        assert status["status"] == "waiting"
    assert len(payloads(log)) == 1


def test_337_goes_busy_to_continue_and_idle_again(sandbox: Sandbox, start: Any) -> None:
    claude = start(env={**FAST, "STANDIN_CLAUDE_TURN_SECONDS": "1",
                        "STANDIN_CLAUDE_ANSWER": "Carried on."})
    sid = claude.session()["sessionId"]
    claude.type("/limit 1")
    wait_for(lambda: claude.session()["status"] == "busy", timeout=4)
    assert claude.transcript(sid)[-1]["message"]["content"] == RESUMED
    wait_for(lambda: claude.session()["status"] == "idle")
    assert claude.transcript(sid)[-1]["message"]["content"][0]["text"] == "Carried on."


def test_337_esc_cancels_the_continue(sandbox: Sandbox, start: Any) -> None:
    claude = start(env=FAST)
    sid = claude.session()["sessionId"]
    claude.type("/limit 1")
    claude.type("/esc")
    time.sleep(1.6)
    assert claude.session()["status"] == "idle"
    claude.type("/exit")
    _code, out, _err = claude.finish()
    assert "∷ Automatic continue cancelled · /rate-limit-options to wait again" in out
    assert not [r for r in claude.transcript(sid) if r.get("isMeta")]


def test_337_menu_option_2_waits_then_continues(sandbox: Sandbox, start: Any) -> None:
    settings(sandbox, autoContinueAtUsageLimit=False)
    claude = start(env=FAST)
    sid = claude.session()["sessionId"]
    claude.type("/limit 1")
    wait_for(lambda: claude.session()["status"] == "waiting")
    claude.type("2")
    wait_for(lambda: [r for r in claude.transcript(sid) if r.get("isMeta")], timeout=4)
    assert claude.session()["status"] in {"idle", "busy"}
    claude.type("/exit")
    _code, out, _err = claude.finish()
    assert "Claude Code will continue automatically at " in out


@pytest.mark.parametrize("answer", ["1", "", "/esc"], ids=["stop-and-wait", "enter", "esc"])
def test_the_menu_closes_to_idle(start: Any, release: str, answer: str) -> None:
    claude = start(env=as_release(release))
    sid = claude.session()["sessionId"]
    claude.type("/limit weekly")
    wait_for(lambda: claude.session()["status"] == "waiting")
    claude.type(answer)
    wait_for(lambda: claude.session()["status"] == "idle")
    assert "waitingFor" not in claude.session()
    assert [r["type"] for r in claude.transcript(sid)] == ["system", "assistant"]


# -- the way out -------------------------------------------------------------------------

HINTS = [  # (release, the flags it was started with, the flags its hint repeats)
    (OLDEST, ["--dangerously-skip-permissions"], ""),
    (OLDEST, ["--permission-mode", "default"], ""),
    (OLDEST, [], ""),
    (CURRENT, ["--dangerously-skip-permissions"], "--dangerously-skip-permissions "),
    (CURRENT, ["--permission-mode", "default"], "--permission-mode default "),
    (CURRENT, ["--permission-mode=plan"], "--permission-mode plan "),
    (CURRENT, ["--model", "opus", "--dangerously-skip-permissions"],
     "--dangerously-skip-permissions "),
    (CURRENT, [], ""),
]


@pytest.mark.parametrize(("version", "flags", "repeated"), HINTS,
                         ids=[f"{r}-{' '.join(f) or 'none'}" for r, f, _x in HINTS])
def test_resume_hint_per_release(start: Any, version: str, flags: list[str],
                                 repeated: str) -> None:
    sid = str(uuid.uuid4())
    claude = start(*flags, "--session-id", sid, env=as_release(version))
    claude.session()
    claude.proc.send_signal(signal.SIGTERM)
    code, out, _err = claude.finish()
    assert code == 0
    assert out.splitlines()[-2:] == [HINT, f"claude {repeated}--resume {sid}"]
    assert last_resume_hint(out) == sid, "the reconciler reads every form"


# -- the gates ---------------------------------------------------------------------------

TRUST = [  # (release, lines typed, trusted?, what an exit says)
    (OLDEST, ["1"], True, ""),
    (OLDEST, [""], True, ""),
    (OLDEST, ["yes"], True, ""),
    (OLDEST, ["2"], False, ""),
    (CURRENT, [""], False, "Claude Code didn't start because this folder isn't trusted."),
    (CURRENT, ["/down", ""], True, ""),
    (CURRENT, ["yes"], True, ""),
    (CURRENT, ["1", "2", ""], False,  # digits do nothing; Enter takes "No, exit"
     "Claude Code didn't start because this folder isn't trusted."),
    (CURRENT, ["/down", "/up", ""], False, "Run claude again and choose Yes"),
]


@pytest.mark.parametrize(("version", "lines", "trusts", "says"), TRUST,
                         ids=[f"{r}-{'+'.join(x or 'enter' for x in ls)}"
                              for r, ls, _t, _s in TRUST])
def test_trust_dialog_per_release(sandbox: Sandbox, start: Any, version: str,
                                  lines: list[str], trusts: bool, says: str) -> None:
    claude = start(account="personal", env=as_release(version))  # never trusted anything
    for line in lines:
        claude.type(line)
    if trusts:
        claude.session()
        claude.type("/exit")
    code, out, _err = claude.finish()
    assert "Quick safety check: Is this a project you created or one you trust?" in out
    numbered = ["1. Yes, I trust this folder", "2. No, exit"]
    unnumbered = ["\u276f No, exit", "  Yes, I trust this folder"]
    for option in numbered if version == OLDEST else unnumbered:
        assert option in out
    config = json.loads((claude.home / ".claude.json").read_text())
    trusted = config.get("projects", {}).get(str(claude.cwd), {})
    assert trusted.get("hasTrustDialogAccepted", False) is trusts
    assert code == (0 if trusts else 1) and says in out
    assert bool(read_launch_log(sandbox)) is trusts


BYPASS = [  # lines typed at the bypass disclaimer -> accepted?
    (["2"], True), (["/down", ""], True), (["yes"], True), (["1"], False), ([""], False)]


@pytest.mark.parametrize(("lines", "accepts"), BYPASS,
                         ids=["2", "down-enter", "yes", "1", "enter"])
def test_bypass_disclaimer_defaults_to_no(sandbox: Sandbox, start: Any, release: str,
                                          lines: list[str], accepts: bool) -> None:
    path = sandbox.account_home("work") / "settings.json"
    path.write_text("{}")
    claude = start("--dangerously-skip-permissions", env=as_release(release))
    for line in lines:
        claude.type(line)
    if accepts:
        claude.session()
        claude.type("/exit")
    code, out, _err = claude.finish()
    assert "WARNING: Claude Code running in Bypass Permissions mode" in out
    assert code == (0 if accepts else 1)
    assert json.loads(path.read_text()).get("skipDangerousModePermissionPrompt") is (
        True if accepts else None)


def _hooks_of(events: list[str]) -> dict[str, Any]:
    return {event: [{"hooks": [{"type": "command", "command": "true"}]}] for event in events}


WARNINGS = [  # (release, hook events in settings.json, the events it warns about)
    (OLDEST, sorted(HOOK_EVENTS[OLDEST]), []),
    (CURRENT, sorted(HOOK_EVENTS[CURRENT]), []),
    (OLDEST, ["StopFailure", "Interrupt"], ["Interrupt"]),
    (OLDEST, ["PreModelSwitch", "DirectoryAdded"], ["PreModelSwitch", "DirectoryAdded"]),
    (CURRENT, ["StopFailure", "Interrupt"], []),
    (CURRENT, ["Bogus"], ["Bogus"]),
    (OLDEST, ["Bogus"], ["Bogus"]),
]


@pytest.mark.parametrize(("version", "events", "unknown"), WARNINGS,
                         ids=["197-all", "337-all", "197-interrupt", "197-two", "337-interrupt",
                              "337-bogus", "197-bogus"])
def test_settings_warning_for_hook_events_a_release_does_not_know(
        sandbox: Sandbox, start: Any, version: str, events: list[str],
        unknown: list[str]) -> None:
    path = settings(sandbox, hooks=_hooks_of(events), autoContinueAtUsageLimit=False,
                    fooBarBaz=1)  # unknown top-level keys pass silently
    claude = start(env=as_release(version))
    if unknown:
        time.sleep(0.5)
        assert claude.proc.poll() is None and not claude.session_file.exists()
        claude.type("")  # Enter: Continue
    claude.session()
    claude.type("/exit")
    code, out, _err = claude.finish()
    assert code == 0 and ("Settings Warning" in out) == bool(unknown)
    for event in unknown:
        said = re.search(rf"\u2514 hooks\.{event}: Unknown hook event \"{event}\" was "
                         r"ignored\. Valid events: (.*)\n", out)
        assert said and set(said.group(1).split(", ")) == HOOK_EVENTS[version]
    if unknown:
        assert f"Settings Warning\n{path}\n" in out
        assert "\u276f 1. Continue\n  2. Fix with Claude\n  3. Exit and fix manually\n" in out
        assert "The values listed above were skipped; the rest of the file is in effect." in out


@pytest.mark.parametrize(("answer", "code"), [("/esc", 0), ("1", 0), ("3", 1)],
                         ids=["esc", "continue", "exit"])
def test_settings_warning_answers(sandbox: Sandbox, start: Any, answer: str,
                                  code: int) -> None:
    log = hook_log(sandbox)
    settings(sandbox, hooks={**json.loads((sandbox.account_home("work") / "settings.json")
                                          .read_text())["hooks"], **_hooks_of(["Bogus"])})
    claude = start(env=as_release(OLDEST))
    claude.type(answer)
    if code == 0:
        claude.session()
        claude.type("/limit")  # the hooks it knows still run
        wait_for(log.exists)
        claude.type("/exit")
    assert claude.finish()[0] == code


# -- a first prompt on the command line --------------------------------------------------

FIRST = [  # (argv after the session flag, the prompt sent as a turn, a command's answer)
    (["--", "-MARK starts with a dash"], "-MARK starts with a dash", None),
    (["--", "MARK after --"], "MARK after --", None),
    (["MARK without --"], "MARK without --", None),
    (["MARK it's \"quoted\" `tick` $HOME \\ back"], "MARK it's \"quoted\" `tick` $HOME \\ back",
     None),
    (["/tmp/MARK is a path"], "/tmp/MARK is a path", None),
    (["--", "/say MARK from a command"], None, "MARK from a command"),
]


@pytest.mark.parametrize(("tail", "prompt", "said"), FIRST,
                         ids=["dash", "plain", "no-dashes", "quotes", "a-path", "command"])
def test_first_prompt_is_sent(sandbox: Sandbox, start: Any, release: str, tail: list[str],
                              prompt: str | None, said: str | None) -> None:
    sid = str(uuid.uuid4())
    claude = start("--dangerously-skip-permissions", "--session-id", sid, *tail,
                   env={**as_release(release), "STANDIN_CLAUDE_ANSWER": "MARK answered"})
    wait_for(lambda: len(claude.transcript(sid)) >= 2 if claude.session() else None)
    wait_for(lambda: claude.session()["status"] == "idle")
    claude.type("/exit")
    assert claude.finish()[0] == 0
    rows = claude.transcript(sid)
    [logged] = read_launch_log(sandbox)
    assert logged["first_prompt"] == (prompt or tail[-1])
    if prompt is None:
        assert [r["type"] for r in rows] == ["system", "assistant"]
        assert rows[1]["message"]["content"][0]["text"] == said
    else:
        assert [r["type"] for r in rows] == ["system", "user", "assistant"]
        assert rows[1]["message"]["content"] == prompt
        assert rows[1]["promptSource"] == "typed" and not rows[1].get("isMeta")
        assert rows[2]["message"]["content"][0]["text"] == "MARK answered"


def test_first_prompt_goes_busy_then_idle(start: Any) -> None:
    sid = str(uuid.uuid4())
    claude = start("--session-id", sid, "--", "MARK slow",
                   env={"STANDIN_CLAUDE_TURN_SECONDS": "1"})
    wait_for(lambda: claude.session()["status"] == "busy")
    assert claude.transcript(sid)[-1]["type"] == "user"
    wait_for(lambda: claude.session()["status"] == "idle")
    assert claude.transcript(sid)[-1]["type"] == "assistant"


def test_first_prompt_after_a_resume_and_before_the_flags(sandbox: Sandbox, start: Any) -> None:
    first = start("--session-id", (sid := str(uuid.uuid4())))
    first.session()
    first.type("/exit")
    first.finish()
    again = start("MARK resumed", "--dangerously-skip-permissions", "--resume", sid)
    wait_for(lambda: len(again.transcript(sid)) >= 4)
    again.type("/exit")
    assert again.finish()[0] == 0
    rows = again.transcript(sid)
    assert [r["type"] for r in rows] == ["system", "system", "user", "assistant"]
    assert rows[2]["message"]["content"] == "MARK resumed"
    assert [e["first_prompt"] for e in read_launch_log(sandbox)] == [None, "MARK resumed"]


def test_a_message_starting_with_a_dash_needs_its_double_dash(sandbox: Sandbox,
                                                              start: Any) -> None:
    claude = start("--session-id", str(uuid.uuid4()), "-MARK starts with dash")
    code, _out, err = claude.finish()
    assert code == 1 and "error: unknown option '-MARK starts with dash'" in err
    assert not (claude.home / "sessions").exists() and read_launch_log(sandbox) == []


# -- turns and the session file ----------------------------------------------------------

def test_work_is_one_busy_turn(start: Any) -> None:
    claude = start()
    sid = claude.session()["sessionId"]
    idle_since = claude.session()["statusUpdatedAt"]
    claude.type("/work 1 MARK a long task")
    busy = wait_for(lambda: (s := claude.session())["status"] == "busy" and s)
    assert busy["statusUpdatedAt"] > idle_since and "waitingFor" not in busy
    assert claude.transcript(sid)[-1]["message"]["content"] == "MARK a long task"
    idle = wait_for(lambda: (s := claude.session())["status"] == "idle" and s)
    assert idle["statusUpdatedAt"] - busy["statusUpdatedAt"] >= 900
    assert [r["type"] for r in claude.transcript(sid)] == ["system", "user", "assistant"]


def test_sigterm_mid_turn_keeps_the_prompt_and_no_answer(start: Any, release: str) -> None:
    claude = start("--dangerously-skip-permissions", env=as_release(release))
    sid = claude.session()["sessionId"]
    claude.type("/work 30")
    wait_for(lambda: claude.session()["status"] == "busy")
    claude.proc.send_signal(signal.SIGTERM)
    code, out, _err = claude.finish()
    assert code == 0 and last_resume_hint(out) == sid and HINT in out
    assert [r["type"] for r in claude.transcript(sid)] == ["system", "user"]
    assert not claude.session_file.exists()


@pytest.mark.parametrize(("typed", "status", "waiting_for"), [
    ("/busy", "busy", None),
    ("/waiting", "waiting", "permission prompt"),
    ("/waiting dialog open", "waiting", "dialog open"),
    ("/idle", "idle", None),
], ids=["busy", "waiting", "waiting-dialog", "idle"])
def test_status_words_are_the_real_ones(start: Any, typed: str, status: str,
                                        waiting_for: str | None) -> None:
    claude = start(env={"STANDIN_CLAUDE_STATUS": "waiting"})
    assert claude.session()["waitingFor"] == "permission prompt"
    claude.type(typed)
    body = wait_for(lambda: (s := claude.session())["status"] == status
                    and s.get("waitingFor") == waiting_for and s)
    assert body["updatedAt"] >= body["statusUpdatedAt"] >= body["startedAt"]


def test_status_line_gets_the_release(sandbox: Sandbox, start: Any, release: str) -> None:
    seen = sandbox.root / "status_line.jsonl"
    settings(sandbox, statusLine={"type": "command", "command": f"cat >> {seen}; echo >> {seen}"})
    claude = start(env=as_release(release))
    claude.session()
    claude.type("/exit")
    _code, out, _err = claude.finish()
    assert f"* stand-in Claude Code {release} (stand-in)" in out
    assert {json.loads(line)["version"] for line in seen.read_text().splitlines()
            if line.strip()} == {release}
