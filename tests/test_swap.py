"""`reconcile swap`: only the active_account value changes, atomically, with history."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from reconciler.desired import DesiredStateError, rewrite_active_account, swap_active_account
from reconciler.statedir import StateDir

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def example(tmp_path: Path) -> Path:
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
    with pytest.raises(DesiredStateError, match="unknown account 'nope'"):
        swap_active_account(example, "nope", reason="command", state=StateDir(tmp_path / "st"))
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
        env={"HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr
    assert "work -> personal" in done.stdout
    assert "active_account: personal" in example.read_text()
