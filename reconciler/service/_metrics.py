"""Prometheus textfile: written atomically so node_exporter never reads half a file."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from reconciler.statedir import write_atomic


def write_metrics(path: Path, values: Mapping[str, float], by_result: Mapping[str, int]) -> None:
    lines = []
    for name, value in sorted(values.items()):
        lines += [f"# TYPE reconciler_{name} gauge", f"reconciler_{name} {value:g}"]
    lines.append("# TYPE reconciler_actions_total counter")
    lines += [f'reconciler_actions_total{{result="{r}"}} {n}' for r, n in sorted(by_result.items())]
    write_atomic(path, ("\n".join(lines) + "\n").encode(), mode=0o644)
