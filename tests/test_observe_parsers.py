"""Every observe parser as a data table: recorded output in, facts out (pyinfra's way:
a fact is a command and a parser, and the parser is tested without the command)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from reconciler import tmux
from reconciler.claudecode import Recognised, recognise, script_argument, session_id
from reconciler.errors import TransientError
from reconciler.observe import (
    PaneInput,
    PathKind,
    SettingsState,
    cursor_line,
    parse_captures,
    parse_panes,
    parse_row,
    parse_stat,
)
from reconciler.observe._fs import dir_fact, link_fact
from reconciler.observe._panes import SEP
from reconciler.observe._procs import Identity
from reconciler.observe._registry import read_registry, transcripts
from reconciler.observe._settings import observe_settings

S1 = "11111111-2222-4333-8444-555555555555"
S2 = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"


def row(pane_id: str = "%3", last: str = "", tty: str = "/dev/pts/4", held: str = "",
        numbers: tuple[int, ...] = (0, 1, 4242, 0, 0, 0, 0, 0, 0, 2, 7),
        name: str = "api", path: str = "/h/src/api") -> str:
    """A line of ``list-panes -F PANE_FORMAT``: window, pane, pid, clients, linked, mode,
    dead, input off, synchronized, cursor x, cursor y; name and path as ``#{q:}``."""
    return SEP.join([pane_id, last, tty, held, *map(str, numbers), name, path])


# -- list-panes ------------------------------------------------------------------------

ROWS: list[tuple[str, str, dict[str, Any] | None]] = [
    ("a plain pane", row(), {"session_name": "api", "pane_id": "%3", "pane_pid": 4242,
                             "cwd": "/h/src/api", "tty": "/dev/pts/4",
                             "input": PaneInput(cursor_x=2, cursor_y=7)}),
    ("attached, last attach kept", row(last="1795565843", numbers=(0, 1, 4242, 2, 0, 0, 0, 0,
                                                                   0, 2, 7)),
     {"input": PaneInput(clients=2, last_attached="1795565843", cursor_x=2, cursor_y=7)}),
    ("held by us, input off", row(held="1", numbers=(0, 1, 4242, 0, 0, 0, 0, 1, 0, 2, 7)),
     {"input": PaneInput(input_off=True, held=True, cursor_x=2, cursor_y=7)}),
    ("copy mode, linked, synchronized", row(numbers=(0, 1, 4242, 0, 1, 1, 0, 0, 1, 0, 0)),
     {"input": PaneInput(linked=True, mode=True, synchronized=True)}),
    ("quoted name and path are unescaped",
     row(name="a\\|~\\|b\\ c\\$x", path="/h/it\\'s\\ here"),
     {"session_name": "a|~|b c$x", "cwd": "/h/it's here"}),
    ("non-ASCII survives", row(name="ünï", path="/h/projet-été"),
     {"session_name": "ünï", "cwd": "/h/projet-été"}),
    ("too few fields", SEP.join(["%3", "", "/dev/pts/4", "", "0", "1"]), None),
    ("a number that is not one", row().replace(f"{SEP}4242{SEP}", f"{SEP}x{SEP}"), None),
    ("a pane id that is not one", row(pane_id="3"), None),
    ("a last-attached that is not a time", row(last="soon"), None),
]


@pytest.mark.parametrize(("name", "line", "expected"), ROWS, ids=[r[0] for r in ROWS])
def test_list_panes_rows(name: str, line: str, expected: dict[str, Any] | None) -> None:
    parsed = parse_row(line)
    if expected is None:
        assert parsed is None
        return
    assert parsed is not None
    for key, value in expected.items():
        assert getattr(parsed, key) == value, key


def test_panes_are_ordered_and_numbered_per_session() -> None:
    out = "\n".join([
        row(pane_id="%9", numbers=(2, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0), name="web"),
        row(pane_id="%1", numbers=(0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0), name="api"),
        "garbage line",
        row(pane_id="%0", numbers=(0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0), name="api"),
        row(pane_id="%5", numbers=(1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0), name="api"),
    ])
    assert [(p.target, p.pane_id) for p in parse_panes(out)] == [
        ("api/0", "%0"), ("api/1", "%1"), ("api/2", "%5"), ("web/0", "%9")]


# -- captures ------------------------------------------------------------------------------

MARK = "|~rcl-capture~|"
CAPTURES = [
    ("two panes", f"{MARK}%1{MARK}\nhello\n$ \n{MARK}%2{MARK}\n> x\n",
     {"%1": "hello\n$ \n", "%2": "> x\n"}),
    ("nothing", "", {}),
    ("a cut chain keeps what came before", f"{MARK}%1{MARK}\nok\n{MARK}%2", {"%1": "ok\n"}),
    ("pane text that looks like a separator", f"{MARK}%1{MARK}\na |~| b\n",
     {"%1": "a |~| b\n"}),
]


@pytest.mark.parametrize(("name", "out", "expected"), CAPTURES, ids=[c[0] for c in CAPTURES])
def test_captures(name: str, out: str, expected: dict[str, str]) -> None:
    assert parse_captures(out) == expected


@pytest.mark.parametrize(("captured", "line"), [
    ("old output\n$ ls\nfile\n$ ", "$"), ("$ half typed   ", "$ half typed"),
    ("only line", "only line"), ("", ""), ("a\n\n", ""),
])
def test_cursor_line(captured: str, line: str) -> None:
    assert cursor_line(captured) == line


# -- /proc ------------------------------------------------------------------------------

STATS = [
    ("a shell", b"4242 (bash) S 4100 4242 4242 34820 4242 4194560 0 0 0 0 1 0 0 0 20 0 1 0 "
     b"987654 9000000 800", ("bash", 4100, 4242, 4242, 987654)),
    ("a comm with spaces and parens", b"77 (a b) c)) R 1 77 77 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 "
     b"0 55 0 0", ("a b) c)", 1, 77, -1, 55)),
    ("truncated", b"77 (x) R 1 77", None),
    ("not numbers", b"77 (x) R a b c d e f g h i j k l m n o p q r s t u v", None),
]


@pytest.mark.parametrize(("name", "raw", "expected"), STATS, ids=[s[0] for s in STATS])
def test_proc_stat(name: str, raw: bytes, expected: tuple[Any, ...] | None) -> None:
    stat = parse_stat(77, raw)
    if expected is None:
        assert stat is None
    else:
        assert stat is not None
        assert (stat.comm, stat.ppid, stat.pgrp, stat.tpgid, stat.start) == expected


KNOWN = frozenset({"/sbx/bin/claude", "/opt/wrap"})
RECOGNISE = [
    ("native binary", "/home/u/.local/share/claude/versions/2.1.197", None, Recognised.CLAUDE),
    ("npm native binary", "/x/node_modules/@anthropic-ai/claude-code/bin/claude.exe", None,
     Recognised.CLAUDE),
    ("binary named claude", "/usr/local/bin/claude", None, Recognised.CLAUDE),
    ("node + package", "/usr/bin/node", "/x/node_modules/@anthropic-ai/claude-code/cli.js",
     Recognised.CLAUDE),
    ("python + the launch script", "/usr/bin/python3.11", "/sbx/bin/claude",
     Recognised.LAUNCHER),
    ("sh + a wrapper in launch.command", "/usr/bin/dash", "/opt/wrap", Recognised.LAUNCHER),
    ("vim editing the launch script", "/usr/bin/vim.basic", "/sbx/bin/claude", None),
    ("node + another script", "/usr/bin/node", "/x/other.js", None),
    ("tail", "/usr/bin/tail", None, None),
]


@pytest.mark.parametrize(("name", "exe", "script", "expected"), RECOGNISE,
                         ids=[r[0] for r in RECOGNISE])
def test_recognise(name: str, exe: str, script: str | None, expected: Recognised | None) -> None:
    assert recognise(exe, script, KNOWN) is expected


@pytest.mark.parametrize(("argv", "script"), [
    (["python3", "/sbx/bin/claude", "--resume", S1], "/sbx/bin/claude"),
    (["node", "--max-old-space-size=4096", "cli.js"], "cli.js"),
    (["sh", "-c", "exec claude"], None), (["bash"], None), (["-bash"], None),
])
def test_script_argument(argv: list[str], script: str | None) -> None:
    assert script_argument(argv) == script


def test_shells_come_from_etc_shells_and_tmux_is_not_one() -> None:
    identity = Identity(frozenset(), frozenset({"/usr/bin/bash", "/usr/bin/tmux"}))
    assert identity.is_shell("/usr/bin/bash") and identity.is_shell("/opt/zsh-5.9/bin/zsh")
    assert not identity.is_shell("/usr/bin/tmux") and not identity.is_shell("/usr/bin/vim")


@pytest.mark.parametrize(("value", "canonical"), [
    (S1, True), (S2.upper(), False), (S1 + "\n", False), (f"$(touch x){S1}", False),
    (S1.replace("-", ""), False), (None, False), (42, False),
])
def test_session_ids(value: object, canonical: bool) -> None:
    assert (session_id(value) is not None) is canonical


# -- tmux's answers ------------------------------------------------------------------------

@pytest.mark.parametrize(("stderr", "kind"), [
    ("no server running on /tmp/tmux-0/x", tmux.TmuxServerDownError),
    ("error connecting to /tmp/tmux-0/x (No such file or directory)", tmux.TmuxServerDownError),
    ("can't find session: =api", tmux.TmuxCommandError),
    ("", tmux.TmuxCommandError),
])
def test_tmux_failures(stderr: str, kind: type[tmux.TmuxError]) -> None:
    error = tmux.failure(["list-panes"], 1, stderr)
    assert type(error) is kind and isinstance(error, TransientError)


# -- Claude's registry ------------------------------------------------------------------------

def write(path: Path, body: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)


def test_session_files_live_stale_and_planted(tmp_path: Path) -> None:
    home = tmp_path / "home"
    write(home / "sessions" / "100.json", json.dumps({"sessionId": S1, "cwd": "/p",
                                                      "status": "busy"}))
    write(home / "sessions" / "200.json", json.dumps({"sessionId": S2, "cwd": "/q"}))
    write(home / "sessions" / "300.json", json.dumps({"sessionId": "x; touch pwned"}))
    write(home / "sessions" / "400.json", "{ broken")
    write(home / "sessions" / "notes.json", json.dumps({"sessionId": S1}))
    registry = read_registry([home, tmp_path / "missing"], alive=lambda pid: pid == 100)
    assert set(registry.live) == {S1} and registry.live[S1].pid == 100  # type: ignore[index]
    assert set(registry.stale) == {200} and registry.stale[200].session_id == S2
    found = registry.of(home, 100)
    assert found is not None and found.status == "busy"
    assert len(registry.notes) == 1 and "300.json" in registry.notes[0]


def test_transcripts_newest_first_across_roots(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    folder = "projects/-p"
    write(a / folder / f"{S1}.jsonl", "{}\n")
    write(b / folder / f"{S2}.jsonl", "{}\n")
    write(b / folder / f"{S2.upper()}.jsonl", "{}\n")
    write(b / folder / "notes.txt", "x")
    os.utime(a / folder / f"{S1}.jsonl", (1, 1))
    found = transcripts([a, b, a], ["/p", "/none", ""])
    assert found == {"/p": (S2, S1)}


# -- files ------------------------------------------------------------------------------------

def test_path_facts(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    (tmp_path / "dir" / "f").write_text("x")
    (tmp_path / "file").write_text("x")
    (tmp_path / "link").symlink_to(tmp_path / "dir")
    (tmp_path / "dangling").symlink_to(tmp_path / "nowhere")
    assert link_fact(tmp_path / "dir").kind is PathKind.DIR
    assert link_fact(tmp_path / "dir").file_count == 1
    assert link_fact(tmp_path / "link").target == tmp_path / "dir"
    assert link_fact(tmp_path / "missing").kind is PathKind.MISSING
    assert dir_fact(tmp_path / "link").kind is PathKind.DIR
    assert dir_fact(tmp_path / "dangling").kind is PathKind.LINK
    assert dir_fact(tmp_path / "file").kind is PathKind.FILE


SETTINGS = [
    ("missing", None, SettingsState.MISSING),
    ("broken JSON", "{ no", SettingsState.BROKEN),
    ("not an object", "[1]", SettingsState.BROKEN),
    ("no hooks", '{"model": "opus"}', SettingsState.NEEDS_HOOK),
    ("the hook", json.dumps({"hooks": {"PreToolUse": [
        {"matcher": "Bash", "hooks": [{"type": "command", "command": "/g"}]}]}}),
     SettingsState.HAS_HOOK),
    ("another matcher", json.dumps({"hooks": {"PreToolUse": [
        {"matcher": "Edit", "hooks": [{"type": "command", "command": "/g"}]}]}}),
     SettingsState.NEEDS_HOOK),
]


@pytest.mark.parametrize(("name", "body", "state"), SETTINGS, ids=[s[0] for s in SETTINGS])
def test_project_settings(tmp_path: Path, name: str, body: str | None,
                          state: SettingsState) -> None:
    if body is not None:
        write(tmp_path / ".claude" / "settings.json", body)
    assert observe_settings(tmp_path, "Bash", "/g").state is state
