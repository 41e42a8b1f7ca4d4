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
from reconciler.failover import headroom_table
from reconciler.observe import Observed
from reconciler.statedir import StateDir, write_atomic


@dataclass(frozen=True)
class AccountGauge:
    """One account's gauges: ``sessions`` is the Claudes running on it in tmux (as the
    cycle observed them), ``usage`` each window's percent used, ``age`` the seconds since
    it was read, ``runs_out`` the seconds until it runs out at its burn rate."""

    account: str
    sessions: int
    limited: bool
    active: bool
    usage: Mapping[str, float] = field(default_factory=dict)
    age: Mapping[str, float] = field(default_factory=dict)
    runs_out: Mapping[str, float] = field(default_factory=dict)


def account_gauges(desired: DesiredState, state: StateDir,
                   observed: Observed) -> tuple[AccountGauge, ...]:
    limits = state.read_limits()
    running = Counter(p.claude.account for p in observed.tmux.panes if p.claude is not None)
    table = headroom_table(desired, state, observed.now)
    now = observed.now
    return tuple(
        AccountGauge(a.name, running[a.name],
                     a.name in limits and limits[a.name].resets_at > now,
                     a.name == desired.active_account,
                     {w.name: w.used for w in table[a.name].windows},
                     {w.name: (now - w.read_at).total_seconds() for w in table[a.name].windows
                      if w.read_at is not None},
                     {w.name: (w.runs_out - now).total_seconds() for w in table[a.name].windows
                      if w.runs_out is not None})
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
    for name, attr in (("usage_percent", "usage"), ("usage_age_seconds", "age"),
                       ("usage_runs_out_seconds", "runs_out")):
        lines.append(f"# TYPE reconciler_account_{name} gauge")
        lines += [f'reconciler_account_{name}{{account="{_label(a.account)}",'
                  f'window="{_label(w)}"}} {number(round(p, 1))}'
                  for a in accounts for w, p in sorted(getattr(a, attr).items())]
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
