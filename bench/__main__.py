"""python -m bench [--quick] [--runs N] [--no-peers] [--json PATH] [--venv [DIR]]

Every goal of the performance issue, measured against a baseline of the same run:
observe+plan with Claudes in the panes (and with shells only), whole processes against
``python -c pass``, a converge from nothing and a swap under the service against floors
done by hand, the idle service, and every reader of Claude's files and inputs at n and 8n
bytes (no worse than linear). Prints each goal's value, baseline, ratio and
PASS/MISS, and writes the JSON. Nothing runs outside a temp dir (HOME, state, private
tmux sockets under its own TMUX_TMPDIR), and everything started is ended.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import _cases, _moves, _readers, _work
from bench._harness import REPO, Timing, private_tmux, sweep, world


@dataclass(frozen=True)
class Sizes:
    observe: tuple[int, ...]
    whole: int
    converge: int
    swaps: tuple[int, ...]
    idle_interval: float
    idle_cycles: int
    resume: int
    """Claudes of the real CLI for "the time until work resumes" (0: not measured)."""
    readers: int
    """n, in KiB, of "every reader is linear": each reader at n and 8n bytes."""


FULL = Sizes(observe=(50, 200, 500), whole=50, converge=50, swaps=(10, 50),
             idle_interval=30.0, idle_cycles=4, resume=5, readers=32)
QUICK = Sizes(observe=(5, 20), whole=5, converge=5, swaps=(3, 5),
              idle_interval=1.0, idle_cycles=4, resume=0, readers=8)


@dataclass(frozen=True)
class Goal:
    """One row of the issue's table: which measure, at which size, and the test."""

    measure: str
    size: int
    text: str
    passes: Callable[[dict[str, Any]], bool]


def _ratio(result: dict[str, Any]) -> float:
    return float(result["ours"].median / result["floor"].median)


def _ms(result: dict[str, Any]) -> float:
    return float(result["ours"].median * 1000)


def goals(sizes: Sizes) -> list[Goal]:
    big, biggest = sizes.observe[-2] if len(sizes.observe) > 2 else sizes.observe[-1], \
        sizes.observe[-1]
    small, large = sizes.swaps
    return [
        Goal("observe_plan_claudes", big, "<= 40 ms and <= 2.5x floor",
             lambda r: _ms(r) <= 40 and _ratio(r) <= 2.5),
        Goal("observe_plan_claudes", biggest, "<= 100 ms", lambda r: _ms(r) <= 100),
        Goal("dry_run", sizes.whole, "<= 5x python -c pass", lambda r: _ratio(r) <= 5),
        Goal("apply_noop", sizes.whole, "<= 5x python -c pass", lambda r: _ratio(r) <= 5),
        Goal("converge", sizes.converge, "<= 1.3x floor", lambda r: _ratio(r) <= 1.3),
        Goal("swap", small, "<= 1.2x floor", lambda r: _ratio(r) <= 1.2),
        Goal("swap", large, "<= 1.1x floor", lambda r: _ratio(r) <= 1.1),
        Goal("idle", sizes.whole, "<= 0.1 % of a core, RSS <= 40 MB",
             lambda r: r["cpu_percent"] <= 0.1 and r["rss_mb"] <= 40),
        Goal("status_segment", sizes.whole, "<= 2x python -c pass", lambda r: _ratio(r) <= 2),
        Goal("limit_check", sizes.whole, "<= 3x python -c pass", lambda r: _ratio(r) <= 3),
        Goal("limit_to_work_resumed", sizes.resume, "<= 1.3x floor (real CLI)",
             lambda r: _ratio(r) <= 1.3),
        Goal("readers_linear", sizes.readers, "t(8n) <= 2x 8 t(n), worst reader",
             lambda r: _ratio(r) <= 2),
    ]


def _print_measure(name: str, size: int, result: dict[str, Any]) -> None:
    ours = result.get("ours")
    head = f"{name:<22}{size:>5}"
    if not isinstance(ours, Timing):
        print(f"{head}  " + ", ".join(f"{k} {v}" for k, v in result.items()), flush=True)
        return
    print(f"{head}  ours {_fmt(ours)}", flush=True)
    for key, value in result.items():
        if key == "ours":
            continue
        if isinstance(value, Timing):
            print(f"{'':<29}{key:<27}{_fmt(value)}  ours/this {ours.median / value.median:6.2f}")
        else:
            print(f"{'':<29}{key:<27}{value}")


def _fmt(timing: Timing) -> str:
    return (f"{timing.median * 1000:9.1f} ms (min {min(timing.samples) * 1000:.1f}, "
            f"max {max(timing.samples) * 1000:.1f}, n={len(timing.samples)})")


def _table(rows: list[Goal], results: dict[tuple[str, int], dict[str, Any]],
           quick: bool) -> list[dict[str, Any]]:
    print("\nGoals (ratios against the baseline of this run)")
    print(f"{'measure':<22}{'size':>5}  {'goal':<34}{'ours':>12}{'baseline':>12}"
          f"{'ratio':>8}  verdict")
    table = []
    for goal in rows:
        result = results.get((goal.measure, goal.size))
        if result is None or "skipped" in result:
            print(f"{goal.measure:<22}{goal.size:>5}  {goal.text:<34}  not measured")
            continue
        verdict = "PASS" if goal.passes(result) else "MISS"
        if goal.measure == "idle":
            ours = f"{result['cpu_percent']:.3f} %"
            base = f"{result['rss_mb']:.1f} MB"
            ratio = "-"
        else:
            ours = f"{_ms(result):.1f} ms"
            base = f"{result['floor'].median * 1000:.1f} ms"
            ratio = f"{_ratio(result):.2f}x"
        suffix = " (quick sizes)" if quick else ""
        print(f"{goal.measure:<22}{goal.size:>5}  {goal.text:<34}{ours:>12}{base:>12}"
              f"{ratio:>8}  {verdict}{suffix}")
        table.append({"measure": goal.measure, "size": goal.size, "goal": goal.text,
                      "ours": ours, "baseline": base, "ratio": ratio, "verdict": verdict})
    return table


def _jsonable(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v.to_json() if isinstance(v, Timing) else v for k, v in result.items()}


def run(sizes: Sizes, runs: int, peers: bool, root: Path) -> dict[tuple[str, int], Any]:
    results: dict[tuple[str, int], Any] = {}

    def keep(name: str, size: int, result: dict[str, Any]) -> None:
        results[(name, size)] = result
        _print_measure(name, size, result)

    keep("readers_linear", sizes.readers, _readers.linear(sizes.readers << 10, runs))

    for size in sizes.observe:
        with world(root / f"shells-{size}", shells=size) as box:
            keep("observe_plan_shells", size, _cases.observe_plan(box, runs, peers=False))
        with world(root / f"claudes-{size}", claudes=size) as box:
            keep("observe_plan_claudes", size, _cases.observe_plan(box, runs, peers))
            if size == sizes.whole:
                for name, result in _cases.whole_process(box, runs, peers).items():
                    keep(name, size, result)
                keep("idle", size, _cases.idle(box, sizes.idle_cycles, sizes.idle_interval))
            if size in sizes.swaps:
                keep("swap", size, _moves.swap(box, size, runs))
    for size in sizes.swaps:
        if size not in sizes.observe:
            with world(root / f"swap-{size}", claudes=size) as box:
                keep("swap", size, _moves.swap(box, size, runs))
    keep("converge", sizes.converge,
         _moves.converge(sizes.converge, runs, root / "converge", peers))
    if sizes.resume:
        keep("limit_to_work_resumed", sizes.resume,
             _work.resumes(root / "resume", sizes.resume, min(runs, 3)))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, 3 runs, a 1 s idle interval: a smoke run")
    parser.add_argument("--runs", type=int, default=None, help="samples per measure (5; 3 quick)")
    parser.add_argument("--no-peers", action="store_true",
                        help="leave out libtmux, tmuxp and ansible")
    parser.add_argument("--json", type=Path, default=Path("bench/results/latest.json"))
    parser.add_argument("--venv", nargs="?", const=DEFAULT_VENV, type=Path, default=None,
                        help="run in a venv holding only the project and its dependencies "
                             f"(built when missing; default {DEFAULT_VENV})")
    args = parser.parse_args(argv)
    if args.venv is not None and Path(sys.prefix).resolve() != args.venv.resolve():
        return _in_venv(args.venv, argv or sys.argv[1:])
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)  # what is timed writes its byte code
    sizes = QUICK if args.quick else FULL
    runs = max(args.runs or (3 if args.quick else 5), 1)
    tmux_version = subprocess.run(["tmux", "-V"], capture_output=True, text=True, check=False)
    header = (f"reconciler bench: python {platform.python_version()} ({sys.executable}, "
              f"{_site_packages()} packages in its site-packages) "
              f"{tmux_version.stdout.strip()}, {len(os.sched_getaffinity(0))} cores, "
              f"{'quick' if args.quick else 'full'}, {runs} runs")
    print(header, flush=True)
    root = Path(tempfile.mkdtemp(prefix="reconciler-bench-"))
    saved = dict(os.environ)
    started = time.monotonic()
    try:
        private_tmux(root)
        results = run(sizes, runs, not args.no_peers, root)
        table = _table(goals(sizes), results, args.quick)
    finally:
        sweep(root)
        os.environ.clear()
        os.environ.update(saved)
        shutil.rmtree(root, ignore_errors=True)
    report = {"header": header, "quick": args.quick, "root": str(root),
              "python": sys.version.split()[0],
              "seconds": round(time.monotonic() - started, 1), "goals": table,
              "results": [{"measure": m, "size": s, **_jsonable(r)}
                          for (m, s), r in results.items()]}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    _against_last(args.json.parent, table)
    args.json.write_text(json.dumps(report, indent=2) + "\n")
    stamped = args.json.parent / f"{time.strftime('%Y%m%dT%H%M%S')}.json"
    stamped.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten: {args.json} and {stamped.name} ({report['seconds']} s)")
    return 0


DEFAULT_VENV = Path(tempfile.gettempdir()) / "reconciler-bench-venv"


def _in_venv(venv: Path, argv: list[str]) -> int:
    """Build the venv (the project and its dependencies, nothing else) when missing, and
    run the bench again with its interpreter."""
    python = venv / "bin" / "python"
    if not python.exists():
        print(f"building {venv} (the project and its dependencies only)", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-e", str(REPO)],
                       check=True)
    rest: list[str] = []
    skip = False
    for arg in argv:
        if skip and not arg.startswith("-"):  # the --venv DIR itself
            skip = False
            continue
        skip = arg == "--venv"
        if not arg.startswith("--venv"):
            rest.append(arg)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    return subprocess.run([str(python), "-m", "bench", *rest], cwd=REPO, env=env,
                          check=False).returncode


def _site_packages() -> int:
    import sysconfig

    folder = Path(sysconfig.get_paths()["purelib"])
    return len(list(folder.glob("*.dist-info"))) if folder.is_dir() else 0


def _against_last(folder: Path, table: list[dict[str, Any]]) -> None:
    """The verdicts of the last recorded run beside this one's: a regression shows."""
    runs = sorted(p for p in folder.glob("2*.json"))
    if not runs:
        return
    try:
        last = {(g["measure"], g["size"]): g for g in json.loads(runs[-1].read_text())["goals"]}
    except (OSError, ValueError, KeyError):
        return
    print(f"\nAgainst the last recorded run ({runs[-1].name})")
    for goal in table:
        old = last.get((goal["measure"], goal["size"]))
        if old is not None:
            print(f"{goal['measure']:<22}{goal['size']:>5}  {old['ratio']:>8} {old['verdict']}"
                  f"  ->  {goal['ratio']:>8} {goal['verdict']}")


if __name__ == "__main__":
    raise SystemExit(main())
