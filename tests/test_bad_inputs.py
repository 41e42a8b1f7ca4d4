"""A corpus of broken desired files: each gives FILE:LINE: key: message, exit 1, and
touches nothing (no file in HOME, no tmux server, no state)."""

from __future__ import annotations

import os
import secrets
import shlex
import subprocess
from pathlib import Path

import pytest
from _builders import desired_yaml

from reconciler.claudecode import SessionId, env_file_text, launch_line
from reconciler.cli import build_parser, main

BASE = desired_yaml(
    tmux="{socket_name: SOCKET}",
    launch="{command: claude --dangerously-skip-permissions, stop_timeout: 5s}")

# (id, old text, new text, expected line, expected key); every row breaks BASE once.
CORPUS: list[tuple[str, str, str, int, str]] = [
    ("yaml: unclosed flow", "entries: [projects, todos]", "entries: [projects, todos", 7, ""),
    ("yaml: bad indent", "  dedicated:", " dedicated:", 11, ""),
    ("yaml: tab indent", "  dedicated:", "\tdedicated:", 11, ""),
    ("yaml: stray colon", "link: ~/.claude", "link: ~/.claude: x", 6, ""),
    ("yaml: unclosed quote", "link: ~/.claude", "link: '~/.claude", 6, ""),
    ("yaml: unclosed flow sequence, noticed a line later", "active_account: work",
     "active_account: [work", 2, ""),
    ("not a mapping", BASE, "- just\n- a list\n", 1, ""),
    ("scalar document", BASE, "hello\n", 1, ""),
    ("version wrong", "version: 1", "version: 3", 1, "version"),
    ("version string", "version: 1", "version: '1'", 1, "version"),
    ("unknown top key", "link: ~/.claude", "link: ~/.claude\nlinks: x", 7, "links"),
    ("a key YAML reads as a number", "link: ~/.claude", "link: ~/.claude\n5: x", 7, "[5]"),
    ("unknown account key", "home: ~/.claude-work}", "home: ~/.claude-work, colour: red}",
     4, "accounts[0].colour"),
    ("unknown pool key", "  dedicated:", "  dedicate: []\n  dedicated:", 11, "pool.dedicate"),
    ("duplicate top key", "link: ~/.claude", "link: ~/.claude\nlink: ~/.claude", 7, "link"),
    ("duplicate nested key", "prefix: auto-,", "prefix: auto-, prefix: b-,", 10,
     "pool.autonomous.prefix"),
    ("duplicate account name", "{name: personal,", "{name: work,", 5, "accounts[1].name"),
    ("duplicate home", "home: ~/.claude-personal}", "home: ~/.claude-work}", 5,
     "accounts[1].home"),
    ("unknown active account", "active_account: work", "active_account: other", 2,
     "active_account"),
    ("active account wrong type", "active_account: work", "active_account: [work]", 2,
     "active_account"),
    ("accounts empty", "accounts:\n  - {name: work, home: ~/.claude-work}\n  - {name: personal, "
     "home: ~/.claude-personal}", "accounts: []", 3, "accounts"),
    ("account without home", "{name: personal, home: ~/.claude-personal}", "{name: personal}",
     5, "accounts[1].home"),
    ("min greater than max", "min: 1, max: 2", "min: 3, max: 2", 10, "pool.autonomous.min"),
    ("min negative", "min: 1, max: 2", "min: -1, max: 2", 10, "pool.autonomous.min"),
    ("max not a number", "min: 1, max: 2", "min: 1, max: lots", 10, "pool.autonomous.max"),
    ("resume not a bool", "resume: true", "resume: maybe", 12, "pool.dedicated[0].resume"),
    ("session name with colon", "{name: api,", "{name: 'a:b',", 12, "pool.dedicated[0].name"),
    ("session name with dot", "{name: api,", "{name: a.b,", 12, "pool.dedicated[0].name"),
    ("session name with space", "{name: api,", "{name: 'a b',", 12, "pool.dedicated[0].name"),
    ("session name empty", "{name: api,", "{name: '',", 12, "pool.dedicated[0].name"),
    ("dedicated name matches the pool prefix", "{name: api,", "{name: auto-7,", 12,
     "pool.dedicated[0].name"),
    ("unknown tmux key", "tmux: {socket_name: SOCKET}", "tmux: {socket_name: SOCKET, sockit: x}",
     8, "tmux.sockit"),
    ("prefix with colon", "prefix: auto-,", "prefix: 'a:',", 10, "pool.autonomous.prefix"),
    ("project relative", "project: ~/src/api", "project: src/api", 12,
     "pool.dedicated[0].project"),
    ("project with dotdot", "project: ~/src/api", "project: ~/src/../../etc", 12,
     "pool.dedicated[0].project"),
    ("project with quote", "project: ~/src/api", "project: \"~/src/it's\"", 12,
     "pool.dedicated[0].project"),
    ("project with command substitution", "project: ~/src/api",
     "project: '~/src/$(touch pwned)'", 12, "pool.dedicated[0].project"),
    ("project with semicolon", "project: ~/src/api", "project: '~/src/a;touch pwned'", 12,
     "pool.dedicated[0].project"),
    ("project with backtick", "project: ~/src/api", "project: '~/src/`id`'", 12,
     "pool.dedicated[0].project"),
    ("project with newline", "project: ~/src/api", 'project: "~/src/a\\nb"', 12,
     "pool.dedicated[0].project"),
    ("home relative", "home: ~/.claude-work}", "home: .claude-work}", 4, "accounts[0].home"),
    ("link inside a home", "link: ~/.claude", "link: ~/.claude-work/.claude", 6, "link"),
    ("shared inside a home", "dir: ~/.claude-shared,", "dir: ~/.claude-work/s,", 7,
     "shared.dir"),
    ("home inside another", "home: ~/.claude-personal}", "home: ~/.claude-work/p}", 5,
     "accounts[1].home"),
    ("credentials shared", "entries: [projects, todos]", "entries: [.credentials.json]", 7,
     "shared.entries[0]"),
    ("history shared", "entries: [projects, todos]", "entries: [history.jsonl]", 7,
     "shared.entries[0]"),
    ("entry with slash", "entries: [projects, todos]", "entries: [a/b]", 7,
     "shared.entries[0]"),
    ("launch with --resume", "command: claude --dangerously-skip-permissions",
     "command: claude --resume 1", 13, "launch.command"),
    ("launch with --continue", "command: claude --dangerously-skip-permissions",
     "command: claude -c", 13, "launch.command"),
    ("launch unbalanced quote", "command: claude --dangerously-skip-permissions",
     "command: \"claude 'x\"", 13, "launch.command"),
    ("launch empty", "command: claude --dangerously-skip-permissions", "command: ''", 13,
     "launch.command"),
    ("stop timeout garbage", "stop_timeout: 5s", "stop_timeout: soon", 13, "launch.stop_timeout"),
    ("socket name with slash", "socket_name: SOCKET", "socket_name: 'a/b'", 8,
     "tmux.socket_name"),
    ("alerts sink without url", "version: 1", "version: 1\nalerts: [{type: webhook}]", 2,
     "alerts[0].url"),
    ("failover order unknown type", "version: 1", "version: 1\nfailover: {order: work}", 2,
     "failover.order"),
    ("drift policy unknown", "version: 1", "version: 1\ndrift: {policy: ignore}", 2,
     "drift.policy"),
    ("launch env sets the config dir", "stop_timeout: 5s}",
     "stop_timeout: 5s, env: {CLAUDE_CONFIG_DIR: /x}}", 13, "launch.env.CLAUDE_CONFIG_DIR"),
    ("launch env value with a newline", "stop_timeout: 5s}",
     'stop_timeout: 5s, env: {X: "a\\nb"}}', 13, "launch.env.X"),
    ("failover order names no account", "version: 1",
     "version: 1\nfailover: {order: [work, nobody]}", 2, "failover.order[1]"),
    # durations: finite, bounded, never a hang or a traceback at run time
    ("interval infinite", "version: 1", "version: 1\nservice: {interval: .inf}", 2,
     "service.interval"),
    ("interval not a number", "version: 1", "version: 1\nservice: {interval: .nan}", 2,
     "service.interval"),
    ("interval negative", "version: 1", "version: 1\nservice: {interval: -5}", 2,
     "service.interval"),
    ("interval spins", "version: 1", "version: 1\nservice: {interval: 0.1}", 2,
     "service.interval"),
    ("interval absurd", "version: 1", "version: 1\nservice: {interval: 9999999999d}", 2,
     "service.interval"),
    ("stop timeout infinite", "stop_timeout: 5s", "stop_timeout: .inf", 13,
     "launch.stop_timeout"),
    ("start timeout zero", "stop_timeout: 5s", "stop_timeout: 5s, start_timeout: 0", 13,
     "launch.start_timeout"),
    ("crash-loop window of years", "version: 1",
     "version: 1\nservice: {crashloop_window: 1000d}", 2, "service.crashloop_window"),
    ("cooldown infinite", "version: 1", "version: 1\nfailover: {cooldown: .inf}", 2,
     "failover.cooldown"),
    ("default reset of seconds", "version: 1", "version: 1\nfailover: {default_reset: 10s}",
     2, "failover.default_reset"),
    ("preempt_at not a number", "version: 1", "version: 1\nfailover: {preempt_at: .nan}", 2,
     "failover.preempt_at"),
    ("alert timeout infinite", "version: 1",
     "version: 1\nalerts: [{type: command, command: [cat], timeout: .inf}]", 2,
     "alerts[0].timeout"),
    # YAML built to exhaust the loader
    ("billion laughs", BASE, "a: &a [x,x,x,x,x,x,x,x,x,x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 10)}]\n"
        for i in range(8)), 1, ""),
    ("nesting 20,000 deep", BASE, "[" * 20000 + "]" * 20000 + "\n", 1, ""),
    # paths that would share what must not be shared, or loop
    ("link inside the shared dir", "link: ~/.claude", "link: ~/.claude-shared/active", 6,
     "link"),
    ("link is a shared entry", "link: ~/.claude", "link: ~/.claude-shared/todos", 6, "link"),
    ("identity shared", "entries: [projects, todos]", "entries: [projects, .claude.json]", 7,
     "shared.entries[1]"),
    ("settings shared", "entries: [projects, todos]", "entries: [settings.json]", 7,
     "shared.entries[0]"),
    ("CLAUDE.md shared", "entries: [projects, todos]", "entries: [todos, CLAUDE.md]", 7,
     "shared.entries[1]"),
    ("a home that is a bare ~", "home: ~/.claude-personal}", "home: ~}", 5,
     "accounts[1].home"),
    ("a 5,000-digit integer", "version: 1", "version: " + "1" * 5000, 1, ""),
    ("a NUL in a home", "home: ~/.claude-personal}", 'home: "~/.claude-p\\0x"}', 5,
     "accounts[1].home"),
    ("two homes, one signal name", "home: ~/.claude-personal}", "home: ~/.claude_work}", 5,
     "accounts[1].home"),
    # a trailing newline is not part of a name ("$" alone would let it through)
    ("session name ends in a newline", "{name: api,", '{name: "api\\n",', 12,
     "pool.dedicated[0].name"),
    ("env name ends in a newline", "stop_timeout: 5s}",
     'stop_timeout: 5s, env: {"API_KEY\\n": x}}', 13, "launch.env"),
    # secrets: the problem names the key, never the value
    ("launch env key carrying a value", "stop_timeout: 5s}",
     'stop_timeout: 5s, env: {"API_KEY=sk-planted-secret": x}}', 13, "launch.env"),
    ("launch env value not a string", "stop_timeout: 5s}",
     "stop_timeout: 5s, env: {API_KEY: [sk-planted-secret]}}", 13, "launch.env.API_KEY"),
    ("webhook over ftp", "version: 1",
     "version: 1\nalerts: [{type: webhook, url: 'ftp://x/sk-planted-secret'}]", 2,
     "alerts[0].url"),
    ("webhook header not a string", "version: 1",
     "version: 1\nalerts: [{type: webhook, url: 'https://x', headers: "
     "{Authorization: [sk-planted-secret]}}]", 2, "alerts[0].headers.Authorization"),
    # a key whose value is a mapping or a list is named with what was expected, never
    # printed: the value may hold a secret anywhere inside it
    ("alert sink without a type", "version: 1",
     "version: 1\nalerts: [{url: 'https://x.test/hook/sk-planted-secret', headers: "
     "{Authorization: 'Bearer sk-planted-secret'}}]", 2, "alerts[0]"),
    ("alerts written as a mapping", "version: 1",
     "version: 1\nalerts: {type: webhook, url: 'https://x.test/hook/sk-planted-secret'}", 2,
     "alerts"),
    ("launch written as a list", "launch: {command: claude --dangerously-skip-permissions, "
     "stop_timeout: 5s}", "launch: [{command: claude, env: {API_KEY: sk-planted-secret}}]", 13,
     "launch"),
    ("alert sink of an unknown type", "version: 1",
     "version: 1\nalerts: [{type: webhok, url: 'https://x.test/hook/sk-planted-secret'}]", 2,
     "alerts[0].type"),
    ("alert sink written as a bare URL", "version: 1",
     "version: 1\nalerts: ['https://x.test/hook/sk-planted-secret']", 2, "alerts[0]"),
    ("webhook headers written as a list", "version: 1",
     "version: 1\nalerts: [{type: webhook, url: 'https://x', headers: "
     "['Authorization: sk-planted-secret']}]", 2, "alerts[0].headers"),
    ("webhook with a misspelt key", "version: 1",
     "version: 1\nalerts: [{type: webhook, url: 'https://x.test/hook/sk-planted-secret', "
     "header: {X-Token: sk-planted-secret}}]", 2, "alerts[0].header"),
    ("command sink written as one string", "version: 1",
     "version: 1\nalerts: [{type: command, command: 'curl -H sk-planted-secret'}]", 2,
     "alerts[0].command"),
    ("telegram token file relative", "version: 1",
     "version: 1\nalerts: [{type: telegram, chat_id: 1, token_file: 'keys/sk-planted-secret'}]",
     2, "alerts[0].token_file"),
    ("launch env written as a list", "stop_timeout: 5s}",
     "stop_timeout: 5s, env: [API_KEY=sk-planted-secret]}", 13, "launch.env"),
    ("autonomous pool with a misspelt key", "min: 1, max: 2", "mni: 1, max: 2", 10,
     "pool.autonomous.mni"),
    ("autonomous pool written as a list", "autonomous: {prefix: auto-, start_index: 0, min: 1, "
     "max: 2}", "autonomous: [prefix, auto-]", 10, "pool.autonomous"),
    ("misspelt key, with a suggestion", "version: 1", "version: 1\nservice: {intervall: 5s}", 2,
     "service.intervall"),
]


@pytest.fixture
def sandbox_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    return home


@pytest.mark.parametrize(("name", "old", "new", "line", "key"), CORPUS, ids=[c[0] for c in CORPUS])
def test_broken_file_is_refused_and_nothing_is_touched(
    tmp_path: Path, sandbox_home: Path, capsys: pytest.CaptureFixture[str],
    name: str, old: str, new: str, line: int, key: str,
) -> None:
    socket = f"reconciler-bad-{secrets.token_hex(4)}"
    base = BASE.replace("SOCKET", socket)
    assert old.replace("SOCKET", socket) in base or old == BASE, name
    text = new if old == BASE else base.replace(old.replace("SOCKET", socket), new, 1)
    path = tmp_path / "desired.yaml"
    path.write_text(text)
    state = tmp_path / "state"
    code = main(["apply", "-f", str(path), "--state-dir", str(state)])
    out, err = capsys.readouterr()
    assert code == 1
    first = err.splitlines()[0]
    assert first.startswith(f"{path}:{line}: {key or '<document>'}: "), err
    assert list(sandbox_home.iterdir()) == [], "nothing may be created in HOME"
    assert not state.exists()
    assert subprocess.run(["tmux", "-L", socket, "ls"], capture_output=True,
                          check=False).returncode != 0
    assert not Path("pwned").exists() and not (sandbox_home / "pwned").exists()
    assert "sk-planted-secret" not in out + err, "a problem names the key, never the value"
    assert "{'" not in err and "['" not in err, "a mapping or a list is never printed"
    assert "Traceback" not in err


def test_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 95


def test_launch_line_quotes_every_value(tmp_path: Path) -> None:
    """Even a path full of shell syntax reaches the shell as one quoted word, and a
    launch.env value full of it arrives as that value (through the file the line names,
    which the launch removes)."""
    evil = tmp_path / "$(touch pwned1); `touch pwned2` 'q' \"d\""
    evil.mkdir()
    env_file = tmp_path / "launch.env"
    env_file.write_text(env_file_text((("X", "$(touch pwned4)"),)))
    out = tmp_path / "out"
    line = launch_line(command=("sh", "-c", 'printf %s "$X" > "$0"', str(out)),
                       home=tmp_path / "h$(touch pwned3)", cwd=evil,
                       session=SessionId("11111111-2222-3333-4444-555555555555"), resume=False,
                       env_file=str(env_file))
    done = subprocess.run(["sh", "-c", line + " && pwd"], capture_output=True, text=True,
                          cwd=tmp_path, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(evil)
    assert out.read_text() == "$(touch pwned4)" and not env_file.exists()
    assert not any(p.name.startswith("pwned") for p in tmp_path.rglob("*"))
    assert shlex.split(line)[2] == str(evil)
    assert "pwned4" not in line, "a launch.env value is never on the typed line"


def test_symlink_loop_and_huge_and_binary(tmp_path: Path, sandbox_home: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    huge = tmp_path / "huge.yaml"
    huge.write_text("version: 1\n" + "#" * (2 << 20))
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"version: 1\nactive_account: \xff\xfe\n")
    for path, line in ((loop, 1), (huge, 1), (binary, 2)):
        assert main(["validate", "-f", str(path)]) == 1
        assert capsys.readouterr().err.startswith(f"{path}:{line}: ")
    assert list(sandbox_home.iterdir()) == []


def test_a_desired_file_that_is_not_a_regular_file_is_refused_without_blocking(
        tmp_path: Path, sandbox_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A FIFO nobody writes to would block a plain open() forever: refused at once."""
    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    for path, what in ((fifo, "is a FIFO"), (Path("/dev/zero"), "is a device"),
                       (tmp_path, "is a directory")):
        assert main(["validate", "-f", str(path)]) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"{path}:1: <document>: {what}"), err
    assert list(sandbox_home.iterdir()) == []


def test_two_accounts_resolving_to_one_directory(tmp_path: Path, sandbox_home: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """``~/.claude-personal`` is a link to ``~/.claude-work``: one home cannot be two
    accounts (their Claudes would share one login and one identity)."""
    (sandbox_home / ".claude-work").mkdir()
    (sandbox_home / ".claude-personal").symlink_to(sandbox_home / ".claude-work")
    path = tmp_path / "desired.yaml"
    path.write_text(BASE.replace("SOCKET", "reconciler-bad-x"))
    assert main(["validate", "-f", str(path)]) == 1
    assert capsys.readouterr().err.startswith(
        f"{path}:5: accounts[1].home: same directory as accounts[0].home")


def test_a_shared_dir_that_is_a_home_through_a_link_is_refused(
        tmp_path: Path, sandbox_home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``~/.claude-shared`` is a symlink to ``~/.claude-work``: compared as written the two
    differ, and apply would merge the home's ``projects`` into itself. Compared as they
    resolve, it is refused before anything is touched."""
    work = sandbox_home / ".claude-work"
    (work / "projects").mkdir(parents=True)
    (work / "projects" / "p.jsonl").write_text("{}\n")
    (sandbox_home / ".claude-personal").mkdir()
    (sandbox_home / ".claude-shared").symlink_to(work)
    before = sorted(p.relative_to(sandbox_home) for p in sandbox_home.rglob("*"))
    path = tmp_path / "desired.yaml"
    path.write_text(BASE.replace("SOCKET", f"reconciler-bad-{secrets.token_hex(4)}"))
    state = tmp_path / "state"
    assert main(["apply", "-f", str(path), "--state-dir", str(state)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{path}:7: shared.dir: "), err
    assert "accounts[0].home" in err.splitlines()[0], err
    assert sorted(p.relative_to(sandbox_home) for p in sandbox_home.rglob("*")) == before
    assert (sandbox_home / ".claude-shared").readlink() == work
    assert (work / "projects" / "p.jsonl").read_text() == "{}\n"
    assert not state.exists()


@pytest.mark.parametrize(("given", "seconds"), [("1h", 3600.0), ("90", 90.0), ("1m30s", 90.0),
                                                ("2.5s", 2.5)])
def test_interval_flag_takes_the_file_forms(given: str, seconds: float) -> None:
    assert build_parser().parse_args(["run", "--interval", given]).interval == seconds


@pytest.mark.parametrize(("given", "words"), [
    ("-5", "is not a duration"), ("inf", "is not a duration"), ("nan", "is not a duration"),
    ("0.1", "must be at least 1s"), ("2d", "must be at most 86400s (1 day)"),
    ("soon", "is not a duration"),
])
def test_interval_flag_refuses_what_the_file_refuses(
        given: str, words: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["run", f"--interval={given}"])
    assert exited.value.code == 2  # argparse's usage error
    err = capsys.readouterr().err
    assert words in err and "Traceback" not in err, err
