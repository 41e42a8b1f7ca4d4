"""python -m bench [--quick] [--sizes 1,10,50,200] [--runs 5] [--json PATH]"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench import _cases
from bench._harness import Timing

GOALS_MS = {("observe_plan", 50): 30, ("observe_plan", 200): 60, ("converge", 50): 300,
            ("dry_run", 50): 300, ("swap", 20): 1500}


def _ms(value: Any) -> str:
    return f"{value.median * 1000:8.1f}" if isinstance(value, Timing) else f"{'-':>8}"


def _rows(name: str, size: int, result: dict[str, Any]) -> list[str]:
    ours = result["ours"]
    goal = GOALS_MS.get((name, size))
    verdict = "" if goal is None else ("met" if ours.median * 1000 <= goal else "MISSED")
    lines = [f"{name:<13}{size:>5}  ours {_ms(ours)} ms  (min {min(ours.samples) * 1000:.1f}, "
             f"max {max(ours.samples) * 1000:.1f})"
             + (f"  goal <= {goal} ms: {verdict}" if goal else "")]
    for key, value in result.items():
        if key == "ours":
            continue
        if isinstance(value, Timing):
            lines.append(f"{'':<18}{key:<26}{_ms(value)} ms   ours/this = "
                         f"{ours.median / value.median:6.2f}")
        else:
            lines.append(f"{'':<18}{key:<26}{value}")
    return lines


def _jsonable(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v.to_json() if isinstance(v, Timing) else v for k, v in result.items()}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--sizes", default="1,10,50,200")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="sizes 1,10,50; 3 runs; short idle")
    parser.add_argument("--json", type=Path, default=Path("bench/results/latest.json"))
    args = parser.parse_args()
    sizes = [1, 10, 50] if args.quick else [int(s) for s in args.sizes.split(",")]
    runs = 3 if args.quick else max(args.runs, 5)
    tmux_version = subprocess.run(["tmux", "-V"], capture_output=True, text=True, check=False)
    header = (f"reconciler bench: {platform.node()} python {platform.python_version()} "
              f"{tmux_version.stdout.strip()} cores {len(__import__('os').sched_getaffinity(0))}")
    print(header)
    report: dict[str, Any] = {"header": header, "results": []}
    lines: list[str] = []
    root = _cases.scratch()
    try:
        plan: list[tuple[str, int]] = [("observe_plan", s) for s in sizes]
        plan += [("converge", s) for s in sizes]
        plan += [("dry_run", 50)]
        plan += [("swap", 20)]
        for name, size in plan:
            work = root / f"{name}-{size}"
            result = getattr(_cases, name)(size, runs, work)
            rows = _rows(name, size, result)
            print("\n".join(rows), flush=True)
            lines += rows
            report["results"].append({"measure": name, "size": size, **_jsonable(result)})
        idle = _cases.idle(10 if args.quick else 30, root / "idle")
        verdict = "met" if idle["cpu_percent"] <= 0.2 and idle["rss_mb"] <= 60 else "MISSED"
        line = (f"{'service idle':<18} cpu {idle['cpu_percent']:.3f} % of a core, rss "
                f"{idle['rss_mb']:.1f} MB over {idle['seconds']} s  goal <= 0.2 %, <= 60 MB: "
                f"{verdict}")
        print(line)
        report["results"].append({"measure": "idle", **idle})
    finally:
        shutil.rmtree(root, ignore_errors=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten: {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
