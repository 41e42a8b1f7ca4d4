"""`reconcile swap`: only the active_account value changes, atomically, with history."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.cli import main
from reconciler.desired import (
    DesiredStateError,
    load_desired,
    rewrite_active_account,
    swap_active_account,
)
from reconciler.statedir import StateDir

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    for name in (".claude-work", ".claude-personal"):
        (home / name).mkdir(parents=True)
    monkeypatch.setenv("HOME", str(home))
    path = tmp_path / "desired_state.yaml"
    shutil.copy(ROOT / "desired_state.example.yaml", path)
    path.chmod(0o640)
    return path


def test_only_the_value_changes_byte_for_byte(example: Path, tmp_path: Path) -> None:
    before = example.read_bytes()
    previous, state = swap_active_account(example, "personal", reason="command",
                                          state=StateDir(tmp_path / "st"))
    after = example.read_bytes()
    assert previous == "work" and state.active_account == "personal"
    assert after == before.replace(b"active_account: work ", b"active_account: personal ", 1)
    assert b"# the swap lever" in after and b"# ordered: first = primary" in after
    assert example.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(("text", "expected"), [
    ("active_account: 'work'  # q\n", "active_account: 'personal'  # q\n"),
    ('active_account: "work"\n', 'active_account: "personal"\n'),
    ("# active_account: work\nactive_account:   work\n",
     "# active_account: work\nactive_account:   personal\n"),
    ("version: 1\nactive_account:\n  work\n", "version: 1\nactive_account:\n  personal\n"),
])
def test_quoting_and_layout_survive(text: str, expected: str) -> None:
    assert rewrite_active_account(text, "personal") == expected


def test_unknown_account_changes_nothing(example: Path, tmp_path: Path) -> None:
    before = example.read_bytes()
    with pytest.raises(DesiredStateError, match="cannot swap to 'nope': not one of the accounts"
                       ) as refused:
        swap_active_account(example, "nope", reason="command", state=StateDir(tmp_path / "st"))
    [problem] = refused.value.problems
    assert problem.line == before.decode().splitlines().index("active_account: work"
                                                              "            # the swap lever") + 1
    assert example.read_bytes() == before
    assert not (tmp_path / "st" / "swaps.jsonl").exists()


def test_history_is_appended(example: Path, tmp_path: Path) -> None:
    state = StateDir(tmp_path / "st")
    swap_active_account(example, "personal", reason="command", state=state)
    swap_active_account(example, "work", reason="limit", state=state)
    swaps = state.read_swaps()
    assert [(s["from"], s["to"], s["reason"]) for s in swaps] == [
        ("work", "personal", "command"), ("personal", "work", "limit")]
    assert (tmp_path / "st" / "swaps.jsonl").stat().st_mode & 0o777 == 0o600


def test_swap_command(example: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reconciler", "swap", "personal", "-f", str(example),
         "--state-dir", str(tmp_path / "st")],
        capture_output=True, text=True, timeout=60, check=False,
        env={"HOME": str(tmp_path / "home"), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "work -> personal" in done.stdout
    assert "active_account: personal" in example.read_text()


def test_a_swap_onto_a_limited_account_warns(example: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    from datetime import UTC, datetime, timedelta

    from reconciler.statedir import LimitRecord

    state = StateDir(tmp_path / "st")
    now = datetime.now(UTC)
    state.write_limits({"personal": LimitRecord(
        "personal", now + timedelta(hours=3), "session", "session limit", now, "hook")})
    assert main(["swap", "personal", "-f", str(example), "--state-dir", str(state.root)]) == 0
    err = capsys.readouterr().err
    assert "warning: personal is limited until" in err and "limits clear personal" in err
    assert "active_account: personal" in example.read_text(), "a warning, not a refusal"


# (id, the file, what swap to "personal" must leave, or the message it must refuse with)
SHARED_VALUES: list[tuple[str, str, str | None, str]] = [
    ("alias: rewritten in place, the anchor keeps its value",
     "failover: {order: [&w work, personal]}\nactive_account: *w\n",
     "failover: {order: [&w work, personal]}\nactive_account: personal\n", ""),
    ("anchor nobody uses: kept",
     "active_account: &a work\n", "active_account: &a personal\n", ""),
    ("tag: kept", "active_account: !!str work\n", "active_account: !!str personal\n", ""),
    ("anchor another key uses: refused",
     "active_account: &a work\nfailover: {order: [*a, personal]}\n", None,
     ":1: active_account: active_account's value carries the anchor &a, which line 2"),
    ("merge key: refused",
     "<<: {active_account: work}\n", None,
     ":1: active_account: active_account comes from the << merge key"),
    ("block scalar: refused", "active_account: |-\n  work\n", None,
     ":1: active_account: active_account is a block scalar"),
]
TAIL = ("version: 1\naccounts:\n  - {name: work, home: ~/.claude-work}\n"
        "  - {name: personal, home: ~/.claude-personal}\nlink: ~/.claude\n")


@pytest.mark.parametrize(("name", "head", "after", "refusal"), SHARED_VALUES,
                         ids=[c[0] for c in SHARED_VALUES])
def test_values_yaml_shares_are_rewritten_or_refused(
    example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    name: str, head: str, after: str | None, refusal: str,
) -> None:
    example.write_text(head + TAIL)
    state = tmp_path / "st"
    code = main(["swap", "personal", "-f", str(example), "--state-dir", str(state)])
    err = capsys.readouterr().err
    if after is None:
        assert code == 1 and err.startswith(f"{example}{refusal}"), err
        assert "Traceback" not in err
        assert example.read_text() == head + TAIL, "a refused swap changes nothing"
        assert not (state / "swaps.jsonl").exists()
    else:
        assert code == 0, err
        assert example.read_text() == after + TAIL
        assert load_desired(example).active_account == "personal"


def test_dry_run_swap_changes_nothing(example: Path, tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    before = example.read_bytes()
    state = tmp_path / "st"
    code = main(["swap", "personal", "--dry-run", "--json", "-f", str(example),
                 "--state-dir", str(state)])
    out = capsys.readouterr()
    assert code in (0, 1, 2) and "Traceback" not in out.err  # 1: the plan has conflicts
    assert example.read_bytes() == before
    assert not state.exists(), "no swap recorded, no state written"
    doc = json.loads(out.out)
    assert doc["dry_run"] is True and doc["swap"] == {"from": "work", "to": "personal"}
    assert "would make personal active" in out.err


def test_swap_to_a_home_that_does_not_exist_is_refused(
        example: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "home" / ".claude-personal").rmdir()
    before = example.read_bytes()
    assert main(["validate", "-f", str(example)]) == 0
    assert "warning: " in capsys.readouterr().err
    code = main(["swap", "personal", "-f", str(example), "--state-dir", str(tmp_path / "st")])
    err = capsys.readouterr().err
    assert code == 1
    assert "accounts[1].home: account personal: ~/.claude-personal does not exist; create " \
           "it and log in first" in err
    assert example.read_bytes() == before and not (tmp_path / "st").exists()


def test_an_edit_saved_during_the_swap_is_kept(example: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The user saves the file between the swap's read and its write: the swap starts
    again from their text, so their edit survives."""
    from reconciler.desired import _swap

    real = _swap.prepare_swap
    edits = iter([b"# edited by hand\n"])

    def prepare_then_edit(path: Path, name: str) -> _swap.PreparedSwap:
        prepared = real(path, name)
        for line in edits:
            path.write_bytes(line + path.read_bytes())
        return prepared

    monkeypatch.setattr(_swap, "prepare_swap", prepare_then_edit)
    swap_active_account(example, "personal", reason="command")
    text = example.read_text()
    assert text.startswith("# edited by hand\n") and "active_account: personal" in text


def test_a_swap_that_would_grow_the_file_past_its_bound_is_refused(example: Path) -> None:
    """A file at the size bound: the longer name would make it one no command reads."""
    text = example.read_text()
    padded = text + "#" * ((1 << 20) - len(text.encode()) - 1) + "\n"
    example.write_text(padded)
    with pytest.raises(DesiredStateError, match="would be 1048580 bytes; a desired file is "
                                                "at most 1048576"):
        swap_active_account(example, "personal", reason="command")
    assert example.read_text() == padded
