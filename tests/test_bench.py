"""The bench runs end to end in its quick mode and writes its report. Speed is the
bench's business, never asserted here: only that every goal is measured and judged."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
GOALS = {("observe_plan_claudes", 20), ("dry_run", 5), ("apply_noop", 5), ("converge", 5),
         ("swap", 3), ("swap", 5), ("idle", 5), ("status_segment", 5), ("limit_check", 5),
         ("readers_linear", 8)}


@pytest.mark.timeout(300)
def test_quick_bench_prints_every_goal_and_writes_the_json(tmp_path: Path) -> None:
    report = tmp_path / "bench.json"
    done = subprocess.run([sys.executable, "-m", "bench", "--quick", "--runs", "1",
                           "--no-peers", "--json", str(report)], cwd=REPO,
                          capture_output=True, text=True, timeout=280, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    written = json.loads(report.read_text())
    rows = written["goals"]
    assert {(r["measure"], r["size"]) for r in rows} == GOALS
    assert len(rows) == 11 and all(r["verdict"] in ("PASS", "MISS") for r in rows)
    table = done.stdout.split("Goals (")[1]
    assert table.count("PASS") + table.count("MISS") == 11
    measures = {(r["measure"], r["size"]) for r in written["results"]}
    assert ("observe_plan_shells", 20) in measures
    assert not Path(written["root"]).exists()
    assert _left_running(written["root"]) == []


def _left_running(root: str) -> list[str]:
    """Processes still running from the bench's temp dir (its tmux, services, Claudes)."""
    left = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes()
        except OSError:
            continue
        if root.encode() in argv:
            left.append(argv.replace(b"\0", b" ").decode(errors="replace"))
    return left
