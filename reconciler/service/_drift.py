"""Drift: the world moved while the desired state did not.

After a clean converge the state dir records the desired file's digest. Later
pending actions under the same digest are drift; under a new digest they are
the intended result of an edit.
"""

from __future__ import annotations

from reconciler.desired import DesiredState
from reconciler.plan import Action, Plan
from reconciler.statedir import Converged


def subject_of(action: Action) -> str:
    """What drifted, as a person names it: one killed session is one item, not two."""
    name = getattr(action, "session_name", None) or getattr(action, "name", None)
    if name is None and (target := getattr(action, "target", None)) and isinstance(target, str):
        name = target.split("/", 1)[0]
    if isinstance(name, str):
        return f"session {name}"
    path = getattr(action, "path", None) or getattr(action, "source", None)
    return str(path) if path is not None else action.key


def drift_items(plan: Plan, desired: DesiredState, converged: Converged | None) -> dict[str, str]:
    """What drifted (pending actions and conflicts, by subject) while the desired state
    stayed the same; empty when the desired file changed since the last converge."""
    if converged is None or converged.digest != desired.digest:
        return {}
    items: dict[str, list[str]] = {}
    for action in plan.actions:
        items.setdefault(subject_of(action), []).append(action.description)
    for conflict in plan.conflicts:
        items.setdefault(conflict.key, []).append(conflict.message)
    for waiting in plan.waiting:
        items.setdefault(f"session {waiting.target.rsplit('/', 1)[0]}", []).append(
            f"claude pid {waiting.pid} in {waiting.target} runs on {waiting.account}; it moves "
            f"to {waiting.to} when its turn ends")
    return {subject: "; ".join(lines) for subject, lines in items.items()}
