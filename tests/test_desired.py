"""Desired-file loading: good files expand, bad files name file:line:key and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from _builders import desired_yaml, load_text

from reconciler.desired import DesiredStateError, load_desired, parse_duration

GOOD = desired_yaml(
    shared="{dir: ~/.claude-shared, entries: [projects, file-history, session-env, todos]}",
    tmux="{socket_name: null}",
    autonomous="{prefix: ccl-auto-, start_index: 0, min: 2, max: 5}")


def load(tmp_path: Path, text: str | bytes) -> object:
    path = tmp_path / "desired.yaml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return load_desired(path, environ={"HOME": "/home/me"})


def test_example_file_loads(tmp_path: Path) -> None:
    root = Path(__file__).resolve().parent.parent
    state = load_desired(root / "desired_state.example.yaml", environ={"HOME": "/home/me"})
    assert state.active.home == Path("/home/me/.claude-work")
    assert state.launch.stop_timeout == 10.0


def test_good_file_expands_home(tmp_path: Path) -> None:
    state = load(tmp_path, GOOD)
    assert state.link == Path("/home/me/.claude")  # type: ignore[attr-defined]
    assert state.shared.dir == Path("/home/me/.claude-shared")  # type: ignore[attr-defined]
    assert state.dedicated[0].project == Path("/home/me/src/api")  # type: ignore[attr-defined]
    assert state.managed("ccl-auto-3") and state.managed("api")  # type: ignore[attr-defined]
    assert not state.managed("ccl-auto-x") and not state.managed("mine")  # type: ignore[attr-defined]


# Broken files through the whole CLI, each with its line and key: tests/test_bad_inputs.py.


def test_not_utf8_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(DesiredStateError) as caught:
        load(tmp_path, GOOD.encode().replace(b"~/src/api", b"~/src/\xff\xfe"))
    assert caught.value.problems[0].line == 12  # the dedicated session's line
    assert "UTF-8" in str(caught.value)


def test_huge_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(DesiredStateError, match="at most"):
        load(tmp_path, GOOD + "#" * (2 << 20))


def test_symlink_loop_is_refused(tmp_path: Path) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    with pytest.raises(DesiredStateError, match="cannot read"):
        load_desired(loop)


def test_empty_document(tmp_path: Path) -> None:
    with pytest.raises(DesiredStateError, match="mapping"):
        load(tmp_path, "")


@pytest.mark.parametrize(("text", "seconds"), [(30, 30.0), ("30s", 30.0), ("5m", 300.0),
                                                ("1h30m", 5400.0), ("250ms", 0.25)])
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_validation_cache_skips_only_unchanged_valid_files(tmp_path: Path) -> None:
    env = {"HOME": "/nonexistent-home", "XDG_CACHE_HOME": str(tmp_path / "cache")}
    (tmp_path / "cache").mkdir()
    path = tmp_path / "desired.yaml"
    path.write_text(GOOD)
    load_desired(path, environ=env)
    cache = tmp_path / "cache" / "reconciler" / "validated"
    assert len(cache.read_text().split()) == 1
    load_desired(path, environ=env)
    path.write_text(GOOD.replace("min: 2, max: 5", "min: two, max: 5"))
    with pytest.raises(DesiredStateError, match=r"pool\.autonomous\.min"):
        load_desired(path, environ=env)
    assert len(cache.read_text().split()) == 1, "a broken file is never cached"


def test_no_cache_dir_is_created_in_a_missing_home(tmp_path: Path) -> None:
    path = tmp_path / "desired.yaml"
    path.write_text(GOOD)
    load_desired(path, environ={"HOME": str(tmp_path / "absent")})
    assert not (tmp_path / "absent").exists()


def test_two_accounts_on_one_directory_are_refused(tmp_path: Path) -> None:
    """One config home cannot be two accounts: a swap between them would restart every
    Claude for nothing. Symlinks are resolved, so an alias is the same directory."""
    (tmp_path / ".claude-work").mkdir()
    (tmp_path / ".claude-alias").symlink_to(tmp_path / ".claude-work")
    for home in ("~/.claude-work", "~/.claude-alias", "~/.claude-work/"):
        path = tmp_path / "desired.yaml"
        path.write_text(GOOD.replace("home: ~/.claude-personal", f"home: {home}"))
        with pytest.raises(DesiredStateError) as caught:
            load_desired(path, environ={"HOME": str(tmp_path)})
        assert str(caught.value) == (
            f"{path}:5: accounts[1].home: same directory as accounts[0].home "
            "(one config home cannot be two accounts)")


@pytest.mark.parametrize(("extra", "message"), [
    ("alerts: [{url: 'https://x.test/hook/SKSECRET1', headers: {Authorization: SKSECRET2}}]",
     "alerts[0]: needs a `type` (command, webhook or telegram)"),
    ("alerts: {type: webhook, url: 'https://x.test/hook/SKSECRET1'}",
     "alerts: must be a list of sinks, not a mapping"),
    ("alerts: [{type: webhok, url: 'https://x.test/hook/SKSECRET1'}]",
     "alerts[0].type: must be command, webhook or telegram, not 'webhok'"),
    ("alerts: [{type: webhook, url: 'ftp://x.test/hook/SKSECRET1'}]",
     "alerts[0].url: is not allowed: a URL starts with http:// or https:// (the value is not "
     "shown: it may be a secret)"),
    ("service: {intervall: 5s}", "service.intervall: unknown key 'intervall' (did you mean "
     "'interval'?)"),
    ("service: {every: 5s}", "service.every: unknown key 'every'; known here: "
     "crashloop_max_backoff, crashloop_window, interval, metrics_file"),
    ("service: {interval: soon}", "service.interval: 'soon' is not a duration: write 30s, 5m, "
     "1h30m, 250ms, 2d, or a number of seconds"),
    ("service: {interval: [5]}", "service.interval: a list is not a duration: write 30s, 5m, "
     "1h30m, 250ms, 2d, or a number of seconds"),
    ("drift: {policy: ignore}", "drift.policy: must be one of correct, alert, not 'ignore'"),
    ("failover: {order: work}", "failover.order: must be a list of account names, not a string"),
])
def test_messages_say_what_is_expected_and_never_print_a_mapping_or_a_list(
        tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(DesiredStateError) as caught:
        load(tmp_path, GOOD + extra + "\n")
    assert str(caught.value) == f"{tmp_path / 'desired.yaml'}:14: {message}"
    assert "SKSECRET" not in str(caught.value)


@pytest.mark.parametrize(("old", "new", "message"), [
    ("launch: {command: claude --dangerously-skip-permissions}",
     "launch: [{env: {A: SKSECRET3}}]",
     "13: launch: must be a mapping of keys (command, env, stop_timeout, start_timeout), not a "
     "list"),
    ("tmux: {socket_name: null}", "tmux: {socket_name: 'a/b'}",
     "8: tmux.socket_name: 'a/b' is not allowed: a socket name is 1 to 64 letters, digits, "
     "'_', '.' and '-'"),
    ("{name: api,", "{name: 'a:b',",
     "12: pool.dedicated[0].name: 'a:b' is not allowed: a name is 1 to 64 letters, digits, "
     "'_' and '-', not starting with '-'"),
    ("min: 2,", "mni: 2,", "10: pool.autonomous.mni: unknown key 'mni' (did you mean 'min'?)"),
    ("active_account: work", "active_account: other",
     "2: active_account: 'other' is not one of the accounts (work, personal)"),
])
def test_messages_name_the_key_and_the_allowed_forms(
        tmp_path: Path, old: str, new: str, message: str) -> None:
    assert old in GOOD
    with pytest.raises(DesiredStateError) as caught:
        load(tmp_path, GOOD.replace(old, new, 1))
    assert str(caught.value) == f"{tmp_path / 'desired.yaml'}:{message}"


@pytest.mark.parametrize(("links", "old", "new", "message"), [
    ({".claude-shared": ".claude-work"}, "", "",
     "7: shared.dir: H/.claude-shared (really H/.claude-work) is the same directory as "
     "accounts[0].home H/.claude-work; a merge would move the home into itself"),
    ({".claude-shared": ".claude-personal/s"}, "", "",
     "7: shared.dir: H/.claude-shared (really H/.claude-personal/s) is inside "
     "accounts[1].home H/.claude-personal"),
    ({"w": ".claude-shared/w"}, "home: ~/.claude-work", "home: ~/w",
     "4: accounts[0].home: H/w (really H/.claude-shared/w) is inside shared.dir "
     "H/.claude-shared"),
    ({"in-work": ".claude-work"}, "link: ~/.claude", "link: ~/in-work/.claude",
     "6: link: H/in-work/.claude (really H/.claude-work/.claude) is inside accounts[0].home "
     "H/.claude-work: it would loop"),
    ({"in-shared": ".claude-shared"}, "link: ~/.claude", "link: ~/in-shared/x",
     "6: link: H/in-shared/x (really H/.claude-shared/x) is inside shared.dir "
     "H/.claude-shared; every account would see it, and a merge would move it"),
])
def test_paths_are_compared_as_they_resolve(
        tmp_path: Path, links: dict[str, str], old: str, new: str, message: str) -> None:
    """A symlink cannot hide a shared dir, a home or the link inside one another."""
    home = tmp_path / "h"
    for name in (".claude-work", ".claude-personal", ".claude-personal/s",
                 ".claude-shared/w"):
        if not any(name.startswith(link) for link in links):
            (home / name).mkdir(parents=True, exist_ok=True)
    for name, target in links.items():
        (home / name).symlink_to(home / target)
    path = tmp_path / "desired.yaml"
    path.write_text(GOOD.replace(old, new, 1))
    with pytest.raises(DesiredStateError) as caught:
        load_desired(path, environ={"HOME": str(home)})
    assert str(caught.value) == f"{path}:{message.replace('H/', f'{home}/')}"


def test_tilde_in_the_launch_command_is_expanded_once_at_load(tmp_path: Path) -> None:
    """Each word is typed quoted, where no shell would expand ``~``: the loader does."""
    state = load_text(tmp_path / "d.yaml", desired_yaml(launch="{command: '~/bin/claude --x ~'}"),
                      home="/home/me")
    assert state.launch.command == ("/home/me/bin/claude", "--x", "/home/me")
