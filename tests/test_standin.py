"""The stand-in claude, as real processes: directly and inside a pane of a private tmux
server. Every other end-to-end test trusts what it writes and prints, so its contract
with the reconciler (sessions file, transcript, resume hint, exit codes) is pinned here.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _fixtures import needs_tmux, read_launch_log, standin_pids, tmux, wait_for

from reconciler.claudecode import last_resume_hint, project_slug, session_id_from_argv
from reconciler.demo import TOKEN_PREFIX, Sandbox
from reconciler.observe import Identity, ProcessTable

HINT = "Resume this session with:"
OLDEST, CURRENT = "2.1.197", "2.1.337"
WORDS = {  # what changes with the release, in what the tests below read
    OLDEST: {"limit": "You've hit your session limit · resets ",
             "after limit": "What do you want to do?",
             "bypass hint": "claude --resume {sid}"},
    CURRENT: {"limit": "You've hit your 5-hour limit · resets ",
              "after limit": "Continuing automatically at ",
              "bypass hint": "claude --dangerously-skip-permissions --resume {sid}"},
}


@pytest.fixture(params=[OLDEST, CURRENT])
def release(request: pytest.FixtureRequest) -> str:
    """Both supported releases, where the stand-in's words differ."""
    value: str = request.param
    return value


def as_release(release: str) -> dict[str, str]:
    return {"STANDIN_CLAUDE_RELEASE": release}


class Claude:
    """One stand-in started with a pipe on stdin, so a test can type into it."""

    def __init__(self, sandbox: Sandbox, *args: str, account: str | None = "work",
                 cwd: Path | None = None, env: dict[str, str] | None = None) -> None:
        self.sandbox = sandbox
        self.home = sandbox.account_home(account) if account else sandbox.home / ".claude"
        full_env = {**sandbox.env(), **(env or {})}
        if account:
            full_env["CLAUDE_CONFIG_DIR"] = str(self.home)
        self.cwd = cwd or sandbox.home / "src" / "api"
        self.proc = subprocess.Popen(
            [str(sandbox.bin_dir / "claude"), *args], cwd=self.cwd, env=full_env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    @property
    def session_file(self) -> Path:
        return self.home / "sessions" / f"{self.proc.pid}.json"

    def session(self, timeout: float = 5.0) -> dict[str, Any]:
        """The sessions/<pid>.json body, once it exists."""
        body: dict[str, Any] = wait_for(lambda: _load(self.session_file), timeout)
        return body

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 5.0) -> tuple[int, str, str]:
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, out, err

    def transcript(self, session_id: str) -> list[dict[str, Any]]:
        return _rows(self.home / "projects" / project_slug(self.cwd) / f"{session_id}.jsonl")


def _load(path: Path) -> dict[str, Any] | None:
    try:
        body: dict[str, Any] = json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return body


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def claudes(sandbox: Sandbox) -> Iterator[list[Claude]]:
    """Started stand-ins are reaped (not just killed) when the test ends."""
    started: list[Claude] = []
    yield started
    for claude in started:
        if claude.proc.poll() is None:
            claude.proc.kill()
        claude.proc.communicate(timeout=5)


@pytest.fixture
def start(sandbox: Sandbox, claudes: list[Claude]) -> Any:
    def starter(*args: str, **kwargs: Any) -> Claude:
        claude = Claude(sandbox, *args, **kwargs)
        claudes.append(claude)
        return claude
    return starter


# -- as a plain process ----------------------------------------------------------------


def test_session_file_transcript_and_launch_log(sandbox: Sandbox, start: Any,
                                                release: str) -> None:
    sid = str(uuid.uuid4())
    before = time.time() * 1000
    claude = start("--dangerously-skip-permissions", "--session-id", sid,
                   env=as_release(release))
    body = claude.session()
    assert body == {"pid": claude.proc.pid, "sessionId": sid, "cwd": str(claude.cwd),
                    "startedAt": body["startedAt"], "version": release, "status": "idle",
                    "updatedAt": body["updatedAt"], "statusUpdatedAt": body["startedAt"]}
    assert before - 1000 <= body["startedAt"] <= body["updatedAt"] <= time.time() * 1000
    [row] = claude.transcript(sid)
    assert row["type"] == "system" and row["sessionId"] == sid and row["version"] == release
    assert row["cwd"] == str(claude.cwd) and row["account_home"] == str(claude.home)
    assert row["timestamp"].endswith("Z")
    [logged] = read_launch_log(sandbox)
    assert logged == {"pid": claude.proc.pid, "argv": ["--dangerously-skip-permissions",
                                                      "--session-id", sid],
                      "config_dir": str(claude.home), "session_id": sid,
                      "cwd": str(claude.cwd), "mode": "new", "first_prompt": None,
                      "time": logged["time"]}
    argv = Path(f"/proc/{claude.proc.pid}/cmdline").read_bytes().decode().split("\0")[:-1]
    assert argv[1:] == [str(sandbox.bin_dir / "claude"), *logged["argv"]]
    assert session_id_from_argv(argv) == sid
    table = ProcessTable.lazy(Identity.resolve([str(sandbox.bin_dir / "claude")]))
    found = table.claude(claude.proc.pid)
    assert found is not None and found.config_dir == str(claude.home)


def test_sigterm_prints_the_resume_hint_and_removes_the_session_file(start: Any) -> None:
    sid = str(uuid.uuid4())
    claude = start("--session-id", sid)
    claude.session()
    claude.proc.send_signal(signal.SIGTERM)
    code, out, _err = claude.finish()
    assert code == 0
    assert out.splitlines()[-2:] == [HINT, f"claude --resume {sid}"]
    assert last_resume_hint(out) == sid
    assert not claude.session_file.exists()


@pytest.mark.parametrize("how", ["SIGHUP", "/exit", "EOF"])
def test_other_ways_out_print_the_hint_too(start: Any, how: str) -> None:
    claude = start()
    sid = claude.session()["sessionId"]
    if how == "SIGHUP":
        claude.proc.send_signal(signal.SIGHUP)
    elif how == "/exit":
        claude.type("/exit")
    code, out, _err = claude.finish()  # communicate() closes stdin: EOF
    assert code == 0 and out.splitlines()[-2:] == [HINT, f"claude --resume {sid}"]
    assert not claude.session_file.exists()


def test_no_flag_is_a_new_uuid4_in_the_default_home(sandbox: Sandbox, start: Any) -> None:
    (sandbox.home / ".claude").symlink_to(sandbox.account_home("work"))
    (sandbox.home / ".claude.json").symlink_to(".claude/.claude.json")  # as adopt leaves it
    claude = start(account=None)  # no CLAUDE_CONFIG_DIR: ~/.claude of the sandbox HOME
    body = claude.session()
    assert uuid.UUID(body["sessionId"]).version == 4
    assert claude.home == sandbox.home / ".claude"
    assert read_launch_log(sandbox)[0]["config_dir"] == str(sandbox.home / ".claude")


def test_resume_keeps_the_id_and_appends_to_the_same_transcript(
        sandbox: Sandbox, start: Any) -> None:
    first = start("--session-id", (sid := str(uuid.uuid4())))
    first.session()
    first.type("hello")
    first.type("/exit")
    assert first.finish()[0] == 0
    again = start("--dangerously-skip-permissions", "--resume", sid)
    assert again.session()["sessionId"] == sid
    again.type("/exit")
    assert again.finish()[0] == 0
    equals = start(f"--resume={sid.upper()}")  # also --flag=value; ids are lower-cased
    assert equals.session()["sessionId"] == sid
    rows = again.transcript(sid)
    assert [(r["type"], r.get("subtype")) for r in rows] == [
        ("system", "new"), ("user", None), ("system", "resume"), ("system", "resume")]
    assert rows[1]["message"]["content"] == "hello"
    assert [e["mode"] for e in read_launch_log(sandbox)] == ["new", "resume", "resume"]
    files = list((first.home / "projects").rglob("*.jsonl"))
    assert files == [first.home / "projects" / project_slug(first.cwd) / f"{sid}.jsonl"]


def test_resume_of_an_unknown_id_fails_like_the_real_cli(sandbox: Sandbox, start: Any) -> None:
    sid = str(uuid.uuid4())
    claude = start("--resume", sid)
    code, out, _err = claude.finish()
    assert code == 1 and f"No conversation found with session ID: {sid}" in out
    assert not (claude.home / "sessions").exists()
    assert read_launch_log(sandbox) == []


def test_session_id_already_used_fails_like_the_real_cli(start: Any) -> None:
    first = start("--session-id", (sid := str(uuid.uuid4())))
    first.session()
    first.type("/exit")
    first.finish()
    second = start("--session-id", sid)
    code, _out, err = second.finish()
    assert code == 1 and f"Error: Session ID {sid} is already in use." in err


def test_resume_in_another_project_is_another_conversation(
        sandbox: Sandbox, start: Any) -> None:
    first = start("--session-id", (sid := str(uuid.uuid4())))
    first.session()
    first.type("/exit")
    first.finish()
    elsewhere = start("--resume", sid, cwd=sandbox.home / "src" / "web")
    assert elsewhere.finish()[0] == 1


def test_offline_prints_the_error_and_exits_1_at_once(sandbox: Sandbox, start: Any) -> None:
    began = time.monotonic()
    claude = start(env={"STANDIN_CLAUDE_OFFLINE": "1"})
    code, out, err = claude.finish()
    assert code == 1 and "Unable to connect to Anthropic services" in out + err
    assert time.monotonic() - began < 3
    assert not (claude.home / "sessions").exists() and not (claude.home / "projects").exists()
    assert read_launch_log(sandbox) == []


def test_status_commands_limit_and_user_rows(start: Any, release: str) -> None:
    claude = start(env={"STANDIN_CLAUDE_STATUS": "busy", **as_release(release)})
    sid = claude.session()["sessionId"]
    assert claude.session()["status"] == "busy"
    claude.type("/idle")
    wait_for(lambda: claude.session()["status"] == "idle")
    claude.type("/busy")
    wait_for(lambda: claude.session()["status"] == "busy")
    claude.type("/limit")
    claude.type("/limit 90")
    claude.type("/exit")
    _code, out, _err = claude.finish()
    assert WORDS[release]["limit"] in out and "(UTC)" in out
    assert WORDS[release]["after limit"] in out, "2.1.197's menu, 2.1.337's continue"
    errors = [r for r in claude.transcript(sid) if r.get("isApiErrorMessage")]
    assert len(errors) == 2 and all(r["type"] == "assistant" for r in errors)
    assert all(r["error"] == "rate_limit" and r["apiErrorStatus"] == 429 for r in errors)
    texts = [r["message"]["content"][0]["text"] for r in errors]
    assert texts[0].startswith(WORDS[release]["limit"])
    second = int(texts[1].rpartition("|")[2])
    assert time.time() + 80 < second <= time.time() + 100
    assert f"Claude AI usage limit reached|{second}" in out


def test_sigterm_ignored_needs_sigkill_and_leaves_a_stale_session_file(start: Any) -> None:
    claude = start(env={"STANDIN_CLAUDE_IGNORE_SIGTERM": "1"})
    claude.session()
    status = Path(f"/proc/{claude.proc.pid}/status").read_text()
    ignored = int(next(line for line in status.splitlines() if line.startswith("SigIgn:"))
                  .split()[1], 16)
    assert ignored & (1 << (signal.SIGTERM - 1)), "SIGTERM is ignored, not merely slow"
    claude.proc.send_signal(signal.SIGTERM)  # an ignored signal is dropped at once
    assert claude.proc.poll() is None
    claude.proc.send_signal(signal.SIGKILL)
    code, out, _err = claude.finish()
    assert code == -signal.SIGKILL and HINT not in out
    assert claude.session_file.exists(), "a killed Claude leaves its file: pids must be checked"


def test_never_touches_account_secrets(sandbox: Sandbox, start: Any) -> None:
    home = sandbox.account_home("work")
    secrets = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in
               (home / ".credentials.json", home / ".claude.json")}
    claude = start()
    claude.session()
    claude.type("/limit")
    claude.type("/exit")
    claude.finish()
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in secrets} == secrets
    login = json.loads((home / ".credentials.json").read_text())["claudeAiOauth"]
    assert login["accessToken"] == f"{TOKEN_PREFIX}work"
    assert (home / ".credentials.json").stat().st_mode & 0o777 == 0o600


def test_slug_matches_the_reconciler_for_awkward_paths(sandbox: Sandbox, start: Any) -> None:
    odd = sandbox.home / "src" / "my.app_v2 (copy)"
    odd.mkdir(parents=True)
    claude = start(cwd=odd)
    sid = claude.session()["sessionId"]
    assert (claude.home / "projects" / project_slug(odd) / f"{sid}.jsonl").exists()


# -- in a tmux pane --------------------------------------------------------------------


def _pane(sandbox: Sandbox, name: str = "t", cwd: Path | None = None) -> str:
    done = tmux(sandbox, "new-session", "-d", "-s", name, "-x", "200", "-y", "50",
                "-c", str(cwd or sandbox.home / "src" / "api"))
    assert done.returncode == 0, done.stderr
    return f"={name}:"


def _type(sandbox: Sandbox, target: str, line: str) -> None:
    tmux(sandbox, "send-keys", "-t", target, "-l", line, ";", "send-keys", "-t", target, "Enter")


def _screen(sandbox: Sandbox, target: str) -> str:
    return tmux(sandbox, "capture-pane", "-p", "-J", "-t", target).stdout


def _registered(home: Path) -> dict[str, Any] | None:
    """The one sessions json under ``home``, if there is exactly one."""
    files = list((home / "sessions").glob("*.json"))
    return _load(files[0]) if len(files) == 1 else None


@needs_tmux
def test_in_a_pane_sigterm_prints_the_hint_and_the_shell_stays(sandbox: Sandbox,
                                                               release: str) -> None:
    target = _pane(sandbox)
    home = sandbox.account_home("work")
    sid = str(uuid.uuid4())
    _type(sandbox, target, f"STANDIN_CLAUDE_RELEASE={release} CLAUDE_CONFIG_DIR={home} "
                           f"{sandbox.bin_dir}/claude --dangerously-skip-permissions "
                           f"--session-id {sid}")
    body = wait_for(lambda: _registered(home))
    assert body["sessionId"] == sid and body["cwd"] == str(sandbox.home / "src" / "api")
    pane_pid = int(tmux(sandbox, "display", "-p", "-t", target, "#{pane_pid}").stdout)
    stat = Path(f"/proc/{body['pid']}/stat").read_text()
    assert int(stat.rpartition(")")[2].split()[1]) == pane_pid, "a child of the pane's shell"
    wait_for(lambda: sid in _screen(sandbox, target) and str(home) in _screen(sandbox, target))

    os.kill(body["pid"], signal.SIGTERM)
    wait_for(lambda: not (home / "sessions" / f"{body['pid']}.json").exists())
    wait_for(lambda: HINT in _screen(sandbox, target))
    screen = _screen(sandbox, target)
    lines = screen.splitlines()
    at = lines.index(HINT)
    assert lines[at + 1] == WORDS[release]["bypass hint"].format(sid=sid)
    assert last_resume_hint(screen) == sid
    wait_for(lambda: tmux(sandbox, "display", "-p", "-t", target,
                          "#{pane_current_command}").stdout.strip() in {"sh", "dash", "bash"})


@needs_tmux
def test_in_a_pane_commands_flip_the_status_and_ctrl_d_exits(sandbox: Sandbox,
                                                             release: str) -> None:
    target = _pane(sandbox)
    home = sandbox.account_home("work")
    _type(sandbox, target, f"STANDIN_CLAUDE_RELEASE={release} CLAUDE_CONFIG_DIR={home} "
                           f"{sandbox.bin_dir}/claude")
    body = wait_for(lambda: _registered(home))
    assert body["status"] == "idle"
    _type(sandbox, target, "/busy")
    wait_for(lambda: (_registered(home) or {}).get("status") == "busy")
    _type(sandbox, target, "/limit")
    wait_for(lambda: WORDS[release]["limit"] in _screen(sandbox, target))
    wait_for(lambda: WORDS[release]["after limit"] in _screen(sandbox, target))
    tmux(sandbox, "send-keys", "-t", target, "C-d")  # EOF on a tty
    wait_for(lambda: not list((home / "sessions").glob("*.json")))
    assert f"claude --resume {body['sessionId']}" in _screen(sandbox, target)


@needs_tmux
def test_in_a_pane_a_bare_claude_is_the_standin(sandbox: Sandbox) -> None:
    """A login shell may reset PATH; the sandbox's ~/.profile puts the stand-in first."""
    target = _pane(sandbox)
    _type(sandbox, target, "claude --resume 00000000-0000-4000-8000-000000000000")
    wait_for(lambda: "No conversation found with session ID: "
             "00000000-0000-4000-8000-000000000000" in _screen(sandbox, target))
    assert read_launch_log(sandbox) == []


@needs_tmux
def test_killing_the_tmux_server_hangs_up_every_standin(sandbox: Sandbox) -> None:
    home = sandbox.account_home("work")
    for name in ("a", "b"):
        _type(sandbox, _pane(sandbox, name), f"CLAUDE_CONFIG_DIR={home} "
                                             f"{sandbox.bin_dir}/claude")
    wait_for(lambda: len(list((home / "sessions").glob("*.json"))) == 2)
    assert len(standin_pids(sandbox)) == 2
    tmux(sandbox, "kill-server")
    wait_for(lambda: not standin_pids(sandbox))
    wait_for(lambda: not list((home / "sessions").glob("*.json")))
