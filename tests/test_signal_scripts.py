"""The two scripts Claude runs for the signals (``reconciler/signals/*.sh``), as Claude
runs them: by absolute path, its JSON on stdin. They keep a bounded amount of what they
are given, never write through a link planted in the state dir, and hand the user's own
status line the whole input."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from reconciler.claudecode import home_key
from reconciler.signals import SignalDir
from reconciler.statedir import ensure_private_dir


def _installed(tmp_path: Path) -> SignalDir:
    state = tmp_path / "state"
    ensure_private_dir(state)
    spool = SignalDir(state)
    spool.install_scripts()
    return spool


def _run(script: Path, data: bytes, home: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    home.mkdir(exist_ok=True)
    return subprocess.run([str(script), *args], input=data, capture_output=True, timeout=60,
                          env={**os.environ, "CLAUDE_CONFIG_DIR": str(home),
                               "TMPDIR": str(home.parent)}, check=False)


def test_a_huge_status_line_input_is_kept_bounded_and_passed_whole(tmp_path: Path) -> None:
    spool = _installed(tmp_path)
    home = tmp_path / "home"
    body = {"session_id": "11111111-2222-3333-4444-555555555555", "rate_limits": {}}
    data = json.dumps(body).encode()[:-1] + b', "pad": "' + b"x" * 20_000_000 + b'"}'
    seen = tmp_path / "seen"
    done = _run(spool.status_line_script, data, home, "--", f"wc -c > {seen}; echo mine")
    assert done.returncode == 0 and done.stdout == b"mine\n"
    assert int(seen.read_text()) == len(data), "the user's status line got every byte"
    [kept] = (spool.root / "signals" / "status" / home_key(home)).iterdir()
    assert kept.name == f"{body['session_id']}.json" and kept.stat().st_size == 16384
    assert not list(tmp_path.glob("reconciler-statusline.*")), "the whole input is gone"


def test_the_scripts_never_write_through_a_planted_link(tmp_path: Path) -> None:
    spool = _installed(tmp_path)
    home = tmp_path / "home"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    spool.events_dir().symlink_to(elsewhere)
    (spool.root / "signals" / "status").symlink_to(elsewhere)
    event = json.dumps({"error": "rate_limit", "session_id": "x"}).encode()
    assert _run(spool.stop_failure_script, event, home).returncode == 0
    assert _run(spool.status_line_script, b'{"session_id": "abc"}', home).returncode == 0
    assert list(elsewhere.iterdir()) == []


def test_an_event_is_spooled_with_its_home_and_time(tmp_path: Path) -> None:
    spool = _installed(tmp_path)
    home = tmp_path / "home"
    event = {"error": "rate_limit", "session_id": "11111111-2222-3333-4444-555555555555",
             "last_assistant_message": "You've hit your 5-hour limit · resets 2am (UTC)"}
    assert _run(spool.stop_failure_script, json.dumps(event).encode(), home).returncode == 0
    [(_path, raw)] = spool.read_events()
    assert raw is not None and raw["home"] == home_key(home) and raw["event"] == event
    assert isinstance(raw["time"], int)
