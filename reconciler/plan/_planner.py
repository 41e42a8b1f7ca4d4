"""plan(desired, observed) -> Plan: a pure function, the heart of the reconciler.

It only reads its two arguments (the clock comes in ``observed.now``), so the
same inputs always give the same plan and planners are tested by data tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from reconciler.desired import DesiredState
from reconciler.observe import Observed
from reconciler.plan import _accounts, _files, _sessions
from reconciler.plan._actions import Action, Conflict, Plan


def plan(desired: DesiredState, observed: Observed) -> Plan:
    """Ordered actions that take ``observed`` to ``desired``.

    Order: shared dirs, merges into shared, shared links in every home, remember
    the ids of Claudes that must stop, flip the active link, stop them, create
    sessions, remove idle ones over max, (re)launch Claude.
    """
    merges, links = _files.merges_and_links(desired, observed)
    sessions = _sessions.plan_sessions(desired, observed)
    flip = list(_files.active_link(desired, observed))
    ordered: list[Action | Conflict] = [
        *sessions.release,
        *_files.shared_dirs(desired, observed),
        *_files.homes(desired, observed),
        *merges,
        *links,
        *_accounts.signals(desired, observed),
        *sessions.remember,
        *flip,
        *sessions.stop,
        *sessions.create,
        *sessions.remove,
        *sessions.launch,
    ]
    notes = observed.notes
    if any(isinstance(item, Action) for item in flip):
        notes += _sessions.left_on_the_link(desired, observed)
    return replace(_resolve(ordered, notes), waiting=tuple(sessions.waiting))


def _resolve(items: Iterable[Action | Conflict], notes: tuple[str, ...] = ()) -> Plan:
    """Split conflicts from actions, block what depends on a conflict, and drop
    dependencies on keys that need no action (they already hold)."""
    items = list(items)
    conflicts = tuple(i for i in items if isinstance(i, Conflict))
    actions = [i for i in items if isinstance(i, Action)]
    planned = {a.key for a in actions}
    root = {c.key: c.key for c in conflicts}
    """A blocked action's root conflict: named, not repeated (the conflict is shown once)."""
    kept: list[Action] = []
    blocked: list[tuple[Action, str]] = []
    for action in actions:
        cause = next((d for d in action.depends_on if d in root), None)
        if cause is not None:
            root[action.key] = root[cause]
            blocked.append((action, f"waits on conflict {root[cause]}"))
            continue
        deps = tuple(dict.fromkeys(d for d in action.depends_on if d in planned))
        kept.append(replace(action, depends_on=deps) if deps != action.depends_on else action)
    return Plan(actions=tuple(kept), conflicts=conflicts, blocked=tuple(blocked), notes=notes)
