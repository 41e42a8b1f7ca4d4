"""Desired-file loading: good files expand, bad files name file:line:key and change nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
from _builders import desired_yaml

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
