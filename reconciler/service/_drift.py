"""Drift: the world moved while the desired state did not.

After a clean converge the state dir records the desired file's digest. Later
pending actions under the same digest are drift; under a new digest they are
the intended result of an edit.
"""

from __future__ import annotations

from dataclasses import dataclass

from reconciler.desired import DesiredState
from reconciler.plan import Plan
from reconciler.statedir import StateDir, now_iso, read_json, write_json


@dataclass(frozen=True)
class Converged:
    digest: str
    time: str
    active_account: str


def converged_path(state: StateDir) -> str:
    return str(state.root / "converged.json")


def read_converged(state: StateDir) -> Converged | None:
    raw = read_json(state.root / "converged.json")
    if not isinstance(raw, dict):
        return None
    try:
        return Converged(str(raw["digest"]), str(raw["time"]), str(raw["active_account"]))
    except KeyError:
        return None


def write_converged(state: StateDir, desired: DesiredState) -> None:
    write_json(state.root / "converged.json", {
        "digest": desired.digest, "time": now_iso(), "active_account": desired.active_account,
    })


def drift_items(plan: Plan, desired: DesiredState, converged: Converged | None) -> dict[str, str]:
    """Each pending action or conflict, by key, when the desired state is unchanged."""
    if converged is None or converged.digest != desired.digest:
        return {}
    items = {a.key: a.description for a in plan.actions}
    items.update({c.key: c.message for c in plan.conflicts})
    return items
