"""Every observe parser as a data table: recorded output in, facts out (pyinfra's way:
a fact is a command and a parser, and the parser is tested without the command)."""

from __future__ import annotations

import json
import os
import shlex
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
    _procs,
    cursor_line,
    parse_captures,
    parse_panes,
    parse_row,
    parse_stat,
)
from reconciler.observe._accounts import AUTH_ENV, observe_account
from reconciler.observe._fs import dir_fact, link_fact
from reconciler.observe._panes import SEP
from reconciler.observe._procs import Identity, environ_value, home_index
from reconciler.observe._registry import read_registry, transcripts
from reconciler.observe._settings import observe_settings
from reconciler.signals import SignalCommands

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


def ids_of(rows: list[Any]) -> list[str]:
    return [getattr(r, "id", None) or r[0] for r in rows]


ENVIRON: list[tuple[str, bytes | None, str | None]] = [
    ("the key first", b"CLAUDE_CONFIG_DIR=/h/.claude-b\0HOME=/h\0PATH=/usr/bin:/bin\0",
     "/h/.claude-b"),
    ("the key last", b"HOME=/h\0TERM=tmux-256color\0CLAUDE_CONFIG_DIR=/h/.claude-b\0",
     "/h/.claude-b"),
    ("the key last with no trailing NUL", b"HOME=/h\0CLAUDE_CONFIG_DIR=/h/.claude-b",
     "/h/.claude-b"),
    ("the key absent", b"HOME=/h\0TERM=tmux-256color\0", None),
    ("an empty value is a value", b"HOME=/h\0CLAUDE_CONFIG_DIR=\0", ""),
    ("a longer key it is a prefix of is another key", b"CLAUDE_CONFIG_DIR_OLD=/h/.old\0", None),
    ("the key found after a longer key it is a prefix of",
     b"CLAUDE_CONFIG_DIR_OLD=/h/.old\0CLAUDE_CONFIG_DIR=/h/.claude-b\0", "/h/.claude-b"),
    ("a key it is a suffix of is another key", b"XCLAUDE_CONFIG_DIR=/h/.x\0", None),
    ("the key inside a value is not the key", b"NOTE=CLAUDE_CONFIG_DIR=/h/.x\0", None),
    ("an equals sign in the value is kept", b"CLAUDE_CONFIG_DIR=/h/a=b\0", "/h/a=b"),
    ("the first of two wins as getenv does",
     b"CLAUDE_CONFIG_DIR=/h/.a\0CLAUDE_CONFIG_DIR=/h/.b\0", "/h/.a"),
    ("bytes that are not UTF-8 are replaced", b"CLAUDE_CONFIG_DIR=/h/caf\xe9\0", "/h/caf\ufffd"),
    ("an empty environ as a kernel thread has", b"", None),
    ("no environ to read as the process is gone or not ours", None, None),
]


@pytest.mark.parametrize(("name", "raw", "value"), ENVIRON, ids=[e[0] for e in ENVIRON])
def test_environ_value(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
                       raw: bytes | None, value: str | None) -> None:
    if raw is not None:
        (tmp_path / "77").mkdir()
        (tmp_path / "77" / "environ").write_bytes(raw)
    monkeypatch.setattr(_procs, "_PROC", str(tmp_path))
    assert environ_value(77, "CLAUDE_CONFIG_DIR") == value


ARGV: list[Any] = [
    ("python and the launch script with the trailing NUL",
     f"python3\0/sbx/bin/claude\0--resume\0{S1}\0".encode(),
     ("python3", "/sbx/bin/claude", "--resume", S1)),
    ("the native binary alone", b"claude\0", ("claude",)),
    ("an argument with spaces stays one",
     b"node\0cli.js\0--append-system-prompt\0be brief\0",
     ("node", "cli.js", "--append-system-prompt", "be brief")),
    ("a title rewritten without NULs is one word", b"claude --resume x", ("claude --resume x",)),
    ("bytes that are not UTF-8 are replaced", b"claude\0caf\xe9\0", ("claude", "caf\ufffd")),
    ("empty as a kernel thread or a zombie has", b"", ()),
    ("no cmdline to read as the process is gone", None, ()),
    ("an empty argument keeps its place", b"claude\0--append-system-prompt\0\0--model\0opus\0",
     ("claude", "--append-system-prompt", "", "--model", "opus")),
]


@pytest.mark.parametrize(("name", "raw", "argv"), ARGV, ids=ids_of(ARGV))
def test_argv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, raw: bytes | None,
              argv: tuple[str, ...]) -> None:
    if raw is not None:
        (tmp_path / "77").mkdir()
        (tmp_path / "77" / "cmdline").write_bytes(raw)
    monkeypatch.setattr(_procs, "_PROC", str(tmp_path))
    assert _procs._argv(77) == argv


DEBIAN_SHELLS = """\
# /etc/shells: valid login shells
$ROOT/bin/sh
$ROOT/usr/bin/sh
$ROOT/bin/bash
$ROOT/usr/bin/bash
$ROOT/bin/rbash
$ROOT/usr/bin/rbash
$ROOT/usr/bin/dash
$ROOT/usr/bin/tmux
$ROOT/usr/bin/screen
"""
SHELLS: list[tuple[str, str | None, set[str]]] = [
    ("a Debian list with usrmerge twins is one shell each", DEBIAN_SHELLS,
     {"usr/bin/sh", "usr/bin/bash", "usr/bin/rbash", "usr/bin/dash"}),
    ("comments and blank lines are skipped",
     "\n# added by zsh's postinst\n   \n#$ROOT/usr/bin/fish\n$ROOT/usr/bin/zsh\n\n",
     {"usr/bin/zsh"}),
    ("a duplicate is one shell", "$ROOT/usr/bin/fish\n$ROOT/usr/bin/fish\n", {"usr/bin/fish"}),
    ("spaces around a path are trimmed", "  $ROOT/usr/local/bin/nu  \n\t$ROOT/usr/bin/zsh\t\n",
     {"usr/local/bin/nu", "usr/bin/zsh"}),
    ("relative paths are not shells", "bin/bash\n./zsh\nfish\n$ROOT/usr/bin/zsh\n",
     {"usr/bin/zsh"}),
    ("nologin, false and tmux are not shells",
     "$ROOT/usr/sbin/nologin\n$ROOT/bin/false\n$ROOT/usr/bin/tmux\n", set()),
    ("CRLF line ends", "$ROOT/usr/bin/bash\r\n$ROOT/usr/bin/dash\r\n",
     {"usr/bin/bash", "usr/bin/dash"}),
    ("an empty file", "", set()),
    ("no /etc/shells", None, set()),
]


@pytest.mark.parametrize(("name", "text", "shells"), SHELLS, ids=[s[0] for s in SHELLS])
def test_login_shells(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
                      text: str | None, shells: set[str]) -> None:
    root = tmp_path.resolve()
    (root / "usr" / "bin").mkdir(parents=True)
    (root / "bin").symlink_to("usr/bin")  # usrmerge: /bin/bash is /usr/bin/bash
    raw = None if text is None else text.replace("$ROOT", str(root)).encode()
    read: list[str] = []

    def fake_read(path: str) -> bytes | None:
        read.append(path)
        return raw

    monkeypatch.setattr(_procs, "_read", fake_read)
    assert _procs._login_shells() == {str(root / s) for s in shells}
    assert read == ["/etc/shells"]


HOMES: list[tuple[str, list[str], dict[str, str], dict[str, str], dict[str, str]]] = [
    # name, real directories, links (path -> target), homes (account -> path), expected
    ("two homes and the link at the first", [".claude-a", ".claude-b"],
     {".claude": ".claude-a"}, {"a": ".claude-a", "b": ".claude-b"},
     {".claude-a": "a", ".claude-b": "b", ".claude": "a"}),
    ("two homes and the link at the second", [".claude-a", ".claude-b"],
     {".claude": ".claude-b"}, {"a": ".claude-a", "b": ".claude-b"},
     {".claude-a": "a", ".claude-b": "b", ".claude": "b"}),
    ("a dangling link names no account", [".claude-a", ".claude-b"],
     {".claude": "gone"}, {"a": ".claude-a", "b": ".claude-b"},
     {".claude-a": "a", ".claude-b": "b"}),
    ("a dangling link at a home not made yet still names it", [".claude-a"],
     {".claude": ".claude-b"}, {"a": ".claude-a", "b": ".claude-b"},
     {".claude-a": "a", ".claude-b": "b", ".claude": "b"}),
    ("no link at all", [".claude-a"], {}, {"a": ".claude-a"}, {".claude-a": "a"}),
    ("a plain directory at the link's place is no account's", [".claude", ".claude-a"], {},
     {"a": ".claude-a"}, {".claude-a": "a"}),
    ("two homes resolving to one directory: the first wins", [".claude-a"],
     {".claude": ".claude-a", "alias": ".claude-a"}, {"a": ".claude-a", "b": "alias"},
     {".claude-a": "a", ".claude": "a"}),
    ("two homes resolving to one directory in the other order: the first wins",
     [".claude-a"], {".claude": ".claude-a", "alias": ".claude-a"},
     {"b": "alias", "a": ".claude-a"}, {".claude-a": "b", ".claude": "b"}),
    ("a home that is a link is indexed by its target", ["store/a"],
     {"alias": "store/a", ".claude": "alias"}, {"a": "alias"},
     {"store/a": "a", ".claude": "a"}),
    ("one account living at the link's own path", [".claude"], {}, {"a": ".claude"},
     {".claude": "a"}),
]


@pytest.mark.parametrize(("name", "dirs", "links", "homes", "expected"), HOMES,
                         ids=[h[0] for h in HOMES])
def test_home_index(tmp_path: Path, name: str, dirs: list[str], links: dict[str, str],
                    homes: dict[str, str], expected: dict[str, str]) -> None:
    root = tmp_path.resolve()
    for folder in dirs:
        (root / folder).mkdir(parents=True)
    for link, target in links.items():
        (root / link).symlink_to(target)
    index = home_index({a: root / h for a, h in homes.items()}, root / ".claude",
                       real_path=os.path.realpath)
    assert index == {str(root / p): a for p, a in expected.items()}


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


# -- account homes ----------------------------------------------------------------------------

FIFO = "<a FIFO>"
"""In place of a file's text: a named pipe there, which no read may wait on."""

CREDENTIALS = json.dumps({"claudeAiOauth": {
    "accessToken": "sk-ant-oat01-test", "refreshToken": "sk-ant-ort01-test",
    "expiresAt": 1795565843000, "scopes": ["user:inference", "user:profile",
                                           "user:sessions:claude_code"],
    "subscriptionType": "max", "rateLimitTier": "default_claude_max_20x"}})


def project(**keys: Any) -> dict[str, Any]:
    """A ``projects`` entry as Claude Code 2.1.197 writes it."""
    return {"allowedTools": [], "mcpContextUris": [], "mcpServers": {},
            "enabledMcpjsonServers": [], "disabledMcpjsonServers": [],
            "projectOnboardingSeenCount": 1, "hasClaudeMdExternalIncludesApproved": False,
            "hasClaudeMdExternalIncludesWarningShown": False, **keys}


def claude_json(**keys: Any) -> str:
    """A home's ``.claude.json`` as Claude Code 2.1.197 writes it."""
    return json.dumps({"numStartups": 42, "installMethod": "native", "autoUpdates": False,
                       "firstStartTime": "2025-06-01T09:00:00.000Z", "userID": "0" * 64,
                       "lastOnboardingVersion": "2.1.197", **keys}, indent=2)


def settings_json(**keys: Any) -> str:
    return json.dumps({"$schema": "https://json.schemastore.org/claude-code-settings.json",
                       "model": "opus", **keys}, indent=2)


LOGGED_OUT: dict[str, Any] = {"logged_in": False}
ACCOUNTS: list[tuple[str, dict[str, str], dict[str, str], dict[str, Any]]] = [
    # name, files in the home, launch env, expected fields
    ("a fresh home is logged out, trusts nothing, bypasses nothing and is not onboarded",
     {}, {}, {"logged_in": False, "trusted": frozenset(), "bypass_accepted": False,
              "onboarded": False}),
    ("stored credentials log it in", {".credentials.json": CREDENTIALS}, {},
     {"logged_in": True}),
    ("an empty credentials object is no login", {".credentials.json": "{}"}, {}, LOGGED_OUT),
    ("an OAuth token in the launch env logs it in", {},
     {"CLAUDE_CODE_OAUTH_TOKEN": "sk-ant-oat01-test"}, {"logged_in": True}),
    ("an API key in the launch env logs it in", {}, {"ANTHROPIC_API_KEY": "sk-ant-api03-test"},
     {"logged_in": True}),
    ("an auth token in the launch env logs it in", {}, {"ANTHROPIC_AUTH_TOKEN": "test"},
     {"logged_in": True}),
    ("an empty token in the launch env is no login", {}, {"ANTHROPIC_API_KEY": ""}, LOGGED_OUT),
    ("another variable in the launch env is no login", {},
     {"ANTHROPIC_BASE_URL": "https://proxy.example"}, LOGGED_OUT),
    ("a FIFO in place of the credentials is no login", {".credentials.json": FIFO}, {},
     LOGGED_OUT),
    ("trusted projects are those whose trust dialog was accepted",
     {".claude.json": claude_json(projects={
         "/h/src/api": project(hasTrustDialogAccepted=True),
         "/h/src/web": project(hasTrustDialogAccepted=False),
         "/h/src/new": project()})}, {}, {"trusted": frozenset({"/h/src/api"})}),
    ("a trust flag that is not true is no trust",
     {".claude.json": claude_json(projects={"/h/a": project(hasTrustDialogAccepted="true"),
                                            "/h/b": project(hasTrustDialogAccepted=1),
                                            "/h/c": True})}, {}, {"trusted": frozenset()}),
    ("projects that is not an object trusts nothing",
     {".claude.json": claude_json(projects=["/h/src/api"])}, {}, {"trusted": frozenset()}),
    ("onboarded once onboarding is completed",
     {".claude.json": claude_json(hasCompletedOnboarding=True)}, {}, {"onboarded": True}),
    ("not onboarded while onboarding is not completed",
     {".claude.json": claude_json(hasCompletedOnboarding=False)}, {}, {"onboarded": False}),
    ("bypass accepted in settings.json",
     {"settings.json": settings_json(skipDangerousModePermissionPrompt=True)}, {},
     {"bypass_accepted": True}),
    ("bypass accepted by the older key in .claude.json",
     {".claude.json": claude_json(bypassPermissionsModeAccepted=True)}, {},
     {"bypass_accepted": True}),
    ("bypass prompt not skipped",
     {"settings.json": settings_json(skipDangerousModePermissionPrompt=False),
      ".claude.json": claude_json(bypassPermissionsModeAccepted=False)}, {},
     {"bypass_accepted": False}),
    ("a bypass flag that is not true is no bypass",
     {"settings.json": settings_json(skipDangerousModePermissionPrompt="yes")}, {},
     {"bypass_accepted": False}),
    ("a broken .claude.json trusts nothing and is not onboarded",
     {".claude.json": '{"hasCompletedOnboarding": true, "projects": {', ".credentials.json":
      CREDENTIALS}, {}, {"logged_in": True, "trusted": frozenset(), "onboarded": False}),
    (".claude.json as a JSON array is not onboarded", {".claude.json": "[]"}, {},
     {"trusted": frozenset(), "onboarded": False, "bypass_accepted": False}),
    ("a FIFO in place of .claude.json is not waited on", {".claude.json": FIFO}, {},
     {"trusted": frozenset(), "onboarded": False}),
    ("a whole home in use",
     {".claude.json": claude_json(hasCompletedOnboarding=True, projects={
         "/h/src/api": project(hasTrustDialogAccepted=True)}),
      ".credentials.json": CREDENTIALS,
      "settings.json": settings_json(skipDangerousModePermissionPrompt=True)}, {},
     {"name": "work", "logged_in": True, "trusted": frozenset({"/h/src/api"}),
      "bypass_accepted": True, "onboarded": True}),
]


def plant(home: Path, files: dict[str, str]) -> None:
    home.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        if body == FIFO:
            os.mkfifo(home / name)
        else:
            write(home / name, body)


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("name", "files", "launch_env", "expected"), ACCOUNTS,
                         ids=[a[0] for a in ACCOUNTS])
def test_observe_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str,
                         files: dict[str, str], launch_env: dict[str, str],
                         expected: dict[str, Any]) -> None:
    for key in AUTH_ENV:
        monkeypatch.delenv(key, raising=False)
    plant(tmp_path / "home", files)
    fact = observe_account("work", tmp_path / "home", None, launch_env)
    for key, value in expected.items():
        assert getattr(fact, key) == value, key


def test_a_token_in_the_reconcilers_own_environment_logs_it_in(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for key in AUTH_ENV:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("CLAUDE_CODE_OAUTH_TOKEN", "sk-ant-oat01-test")
    assert observe_account("work", tmp_path, None, {}).logged_in


STOP, STATUS = "$STOP", "$STATUS"
"""The signal commands in a row's settings; the test puts in the scripts' real paths."""


def signals(hooks: Any = ((STOP,),), line: Any = STATUS, **keys: Any) -> str:
    """A settings.json with StopFailure entries (each a tuple of hook commands) and a
    status line (a command, or any other value as it is)."""
    body: dict[str, Any] = {**keys}
    if hooks is not None:
        body["hooks"] = {"StopFailure": [{"hooks": [{"type": "command", "command": c}
                                                    for c in entry]} for entry in hooks]}
    if line is not None:
        body["statusLine"] = ({"type": "command", "command": line, "padding": 0}
                              if isinstance(line, str) else line)
    return settings_json(**body)


INSTALLED, NO_HOOK, BROKEN_JSON = ("installed", True), ("missing", False), \
    ("broken: not valid JSON", False)
SIGNALS: list[tuple[str, str | None, str, tuple[str, bool]]] = [
    # name, settings.json (None: no file), scripts, expected (signals, limit_hook)
    ("signals off: nothing to install", None, "signals off", INSTALLED),
    ("no settings.json: missing", None, "both scripts", NO_HOOK),
    ("the hook and the status line: installed", signals(), "both scripts", INSTALLED),
    ("the user's own status line after ours: installed",
     signals(line=f"{STATUS} -- 'npx -y ccusage statusline'"), "both scripts", INSTALLED),
    ("a status line in another form is left as it is: installed",
     signals(line=["not", "a", "command"]), "both scripts", INSTALLED),
    ("the user's own status line only: missing, the hook is in",
     signals(line="npx -y ccusage statusline"), "both scripts", ("missing", True)),
    ("a status line that only starts like ours: missing",
     signals(line=f"{STATUS}-old"), "both scripts", ("missing", True)),
    ("the hook without a status line: missing", signals(line=None), "both scripts",
     ("missing", True)),
    ("the status line without the hook: missing", signals(hooks=None), "both scripts", NO_HOOK),
    ("the hook beside the user's own StopFailure hooks: installed",
     signals(hooks=(("notify-send limit",), (STOP, "logger limit"))), "both scripts",
     INSTALLED),
    ("the hook twice: missing", signals(hooks=((STOP,), (STOP,))), "both scripts", NO_HOOK),
    ("the hook with other arguments: missing", signals(hooks=((f"{STOP} --old",),)),
     "both scripts", NO_HOOK),
    ("hooks that are not an object: missing", settings_json(hooks=[STOP]), "both scripts",
     NO_HOOK),
    ("a hook whose script is gone: missing", signals(), "no hook script", NO_HOOK),
    ("a status line whose script is gone: missing", signals(), "no status script", NO_HOOK),
    ("settings that are not valid JSON: broken", '{"hooks": {"StopFailure": [',
     "both scripts", BROKEN_JSON),
    ("an empty settings file: broken", "", "both scripts", BROKEN_JSON),
    ("settings that are a JSON array: broken", json.dumps([{"hooks": {}}]), "both scripts",
     ("broken: not a JSON object", False)),
    ("settings nested too deep to parse: broken", "[" * 100_000 + "]" * 100_000,
     "both scripts", BROKEN_JSON),
    ("an object nested too deep to parse: broken", '{"a": ' * 100_000 + "1" + "}" * 100_000,
     "both scripts", BROKEN_JSON),
    ("a FIFO in place of settings.json is not waited on: broken", FIFO, "both scripts",
     BROKEN_JSON),
]


@pytest.mark.timeout(10)
@pytest.mark.parametrize(("name", "body", "scripts", "expected"), SIGNALS,
                         ids=[s[0] for s in SIGNALS])
def test_account_signals(tmp_path: Path, name: str, body: str | None, scripts: str,
                         expected: tuple[str, bool]) -> None:
    state = tmp_path / "state"
    state.mkdir()
    stop, status = state / "stop-failure.sh", state / "status-line.sh"
    for script, gone in ((stop, "no hook script"), (status, "no status script")):
        if scripts != gone:
            script.write_text("#!/bin/sh\n")
            script.chmod(0o755)
    commands = None if scripts == "signals off" else SignalCommands(
        shlex.quote(str(stop)), shlex.quote(str(status)))
    if body is not None:
        plant(tmp_path / "home", {"settings.json": body.replace(STOP, str(stop))
                                                       .replace(STATUS, str(status))})
    fact = observe_account("work", tmp_path / "home", commands, {})
    assert (str(fact.signals), fact.signals.hook) == expected
