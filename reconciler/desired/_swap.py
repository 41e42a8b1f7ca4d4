"""Swap: rewrite ``active_account`` in the desired file and nothing else.

The value's exact character span comes from the YAML node marks, so comments,
order, quoting and formatting elsewhere survive byte for byte. The new text is
validated before it replaces the file (temp file + rename, same permissions).
"""

from __future__ import annotations

import os
from pathlib import Path

import yaml

from reconciler.desired._errors import DesiredStateError, Problem
from reconciler.desired._load import load_desired
from reconciler.desired._model import DesiredState
from reconciler.statedir import StateDir, write_atomic


def _value_span(text: str) -> tuple[int, int, str]:
    """(start, end, quote) of the ``active_account`` value in ``text``."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if isinstance(root, yaml.MappingNode):
        for key, value in root.value:
            if key.value == "active_account" and isinstance(value, yaml.ScalarNode):
                quote = value.style if value.style in ("'", '"') else ""
                return value.start_mark.index, value.end_mark.index, quote
    raise ValueError("no active_account scalar in the document")


def rewrite_active_account(text: str, name: str) -> str:
    start, end, quote = _value_span(text)
    return f"{text[:start]}{quote}{name}{quote}{text[end:]}"


def swap_active_account(
    path: Path, name: str, *, reason: str, state: StateDir | None = None
) -> tuple[str, DesiredState]:
    """Make ``name`` the active account; returns (previous account, new state).

    Refuses an unknown account (DesiredStateError) and changes nothing then.
    """
    current = load_desired(path)
    if name not in [a.name for a in current.accounts]:
        raise DesiredStateError([Problem(path, 1, "active_account",
                                         f"unknown account {name!r}; known: "
                                         f"{', '.join(a.name for a in current.accounts)}")])
    previous = current.active_account
    if previous == name:
        return previous, current
    raw = path.read_bytes()
    new_text = rewrite_active_account(raw.decode("utf-8"), name)
    mode = path.stat().st_mode & 0o7777
    real = Path(os.path.realpath(path))
    write_atomic(real, new_text.encode("utf-8"), mode=mode)
    updated = load_desired(path)
    if state is not None:
        state.record_swap(previous, name, reason)
    return previous, updated
