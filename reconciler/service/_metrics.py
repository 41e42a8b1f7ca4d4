"""Prometheus textfile: written atomically so node_exporter never reads half a file.

Numbers are written exactly: an integer (a count, a Unix timestamp) as an integer, a
fraction as Python's shortest round-trip form; ``%g`` would print a timestamp as
``1.79556e+09``, thousands of seconds off.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from reconciler.desired import DesiredState
from reconciler.failover import usage
from reconciler.observe import Observed
from reconciler.statedir import StateDir, write_atomic


@dataclass(frozen=True)
class AccountGauge:
    """One account's gauges: ``sessions`` is the Claudes running on it in tmux (as the
    cycle observed them), ``usage`` each status-line window's percent used."""

    account: str
    sessions: int
    limited: bool
    active: bool
    usage: Mapping[str, float] = field(default_factory=dict)


def account_gauges(desired: DesiredState, state: StateDir,
                   observed: Observed) -> tuple[AccountGauge, ...]:
    limits = state.read_limits()
    running = Counter(p.claude.account for p in observed.tmux.panes if p.claude is not None)
    return tuple(
        AccountGauge(a.name, running[a.name],
                     a.name in limits and limits[a.name].resets_at > observed.now,
                     a.name == desired.active_account,
                     {w: used for w, (used, _reset)
                      in usage(desired, state, a.name, observed.now).items()})
        for a in desired.accounts)


def number(value: float) -> str:
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int) or float(value).is_integer():
        return str(int(value))
    return repr(float(value))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _account_lines(accounts: Sequence[AccountGauge]) -> list[str]:
    if not accounts:
        return []
    columns: dict[str, list[float]] = {
        "sessions": [a.sessions for a in accounts], "limited": [a.limited for a in accounts],
        "active": [a.active for a in accounts]}
    lines = []
    for name, values in columns.items():
        lines.append(f"# TYPE reconciler_account_{name} gauge")
        lines += [f'reconciler_account_{name}{{account="{_label(a.account)}"}} {number(v)}'
                  for a, v in zip(accounts, values, strict=True)]
    lines.append("# TYPE reconciler_account_usage_percent gauge")
    lines += [f'reconciler_account_usage_percent{{account="{_label(a.account)}",'
              f'window="{_label(w)}"}} {number(p)}'
              for a in accounts for w, p in sorted(a.usage.items())]
    return lines


def write_metrics(path: Path, values: Mapping[str, float], by_result: Mapping[str, int],
                  accounts: Sequence[AccountGauge] = ()) -> None:
    lines = []
    for name, value in sorted(values.items()):
        lines += [f"# TYPE reconciler_{name} gauge", f"reconciler_{name} {number(value)}"]
    lines.append("# TYPE reconciler_actions_total counter")
    lines += [f'reconciler_actions_total{{result="{r}"}} {n}' for r, n in sorted(by_result.items())]
    lines += _account_lines(accounts)
    write_atomic(path, ("\n".join(lines) + "\n").encode(), mode=0o644)
