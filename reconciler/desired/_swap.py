"""Swap: rewrite ``active_account`` in the desired file and nothing else.

The value's exact character span comes from the YAML event marks, so comments,
order, quoting and formatting elsewhere survive byte for byte. A value reached
through YAML's sharing (an alias is rewritten in place; an anchor other keys use, or
a ``<<`` merge key, is refused with the line to change), and the new text must load
to the same document with only ``active_account`` changed before it replaces the
file (temp file + rename, same permissions). The target's home must exist: a swap
never moves Claudes into an empty, logged-out home.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from reconciler.desired._errors import DesiredStateError, Problem
from reconciler.desired._load import load_desired_bytes, read_desired_bytes
from reconciler.desired._model import DesiredState
from reconciler.desired._yaml import load_located
from reconciler.statedir import StateDir, write_atomic

_PROPERTIES = re.compile(r"((?:[&!][^\s]*\s+)*)")
"""The anchor and tag written before a scalar (``&a !!str work``): kept as they are."""


class _UnswappableError(Exception):
    """The value cannot be rewritten alone; the message says what to change, and where."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


def _plain(name: str, quote: str) -> str:
    """``name`` as a YAML scalar: as the file quoted it, or double-quoted if it must be."""
    if quote:
        return f"{quote}{name}{quote}"
    try:
        if yaml.safe_load(f"k: {name}") == {"k": name}:
            return name
    except yaml.YAMLError:
        pass
    return json.dumps(name)


def _line(event: Any) -> int:
    return event.start_mark.line + 1 if event.start_mark is not None else 1


def _locate(text: str, name: str) -> tuple[int, int, str]:
    """(start, end, replacement) for making ``name`` the value of the root
    ``active_account`` key; raises _UnswappableError when that cannot be done alone."""
    events = list(yaml.parse(text, Loader=yaml.SafeLoader))
    aliased = {e.anchor: _line(e) for e in events
               if isinstance(e, yaml.AliasEvent) and e.anchor is not None}
    depth, at_key, key, merge_line = 0, True, None, None
    for event in events:
        if depth == 1 and at_key:
            key = event.value if isinstance(event, yaml.ScalarEvent) else None
            if key == "<<":
                merge_line = _line(event)
        elif depth == 1 and key == "active_account":
            return _replacement(text, event, name, aliased)
        before = depth
        if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            depth += 1
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            depth -= 1
        if depth == 1 and (before == 2 or isinstance(event, yaml.ScalarEvent | yaml.AliasEvent)):
            at_key = not at_key  # one whole key or value of the root mapping was read
    if merge_line is not None:
        raise _UnswappableError(merge_line, "active_account comes from the << merge key here; "
                           "write 'active_account: NAME' as its own key and swap again")
    raise _UnswappableError(1, "no active_account key at the top of the document")


def _replacement(text: str, event: Any, name: str, aliased: dict[str, int]) -> tuple[int, int,
                                                                                      str]:
    start, end = event.start_mark.index, event.end_mark.index
    line = _line(event)
    if isinstance(event, yaml.AliasEvent):
        return start, end, _plain(name, "")  # the alias goes; the anchor keeps its value
    if not isinstance(event, yaml.ScalarEvent):
        raise _UnswappableError(line, "active_account is not a plain name")
    if event.anchor is not None and event.anchor in aliased:
        raise _UnswappableError(line, f"active_account's value carries the anchor &{event.anchor}, "
                           f"which line {aliased[event.anchor]} also uses: a swap would change "
                           "both; write the name plainly here and swap again")
    if event.style in ("|", ">"):
        raise _UnswappableError(line, "active_account is a block scalar; write it as a plain name "
                           "(active_account: NAME) and swap again")
    span = text[start:end]
    prefix = _PROPERTIES.match(span)
    kept = prefix.group(1) if prefix else ""
    quote = event.style if event.style in ("'", '"') else ""
    return start, end, kept + _plain(name, quote)


def rewrite_active_account(text: str, name: str) -> str:
    start, end, replacement = _locate(text, name)
    return f"{text[:start]}{replacement}{text[end:]}"


@dataclass(frozen=True)
class PreparedSwap:
    """A swap checked end to end and not yet written."""

    previous: str
    updated: DesiredState
    old_bytes: bytes
    new_bytes: bytes


def _refuse(path: Path, line: int, message: str) -> DesiredStateError:
    return DesiredStateError([Problem(path, line, "active_account", message)])


def prepare_swap(path: Path, name: str) -> PreparedSwap:
    """Everything a swap to ``name`` would write, validated; nothing is changed.

    Refuses (DesiredStateError, naming file, line and key) an unknown account, an
    account whose home does not exist, and a value YAML shares with other keys.
    """
    raw = read_desired_bytes(path)  # once: the text validated is the text rewritten
    current = load_desired_bytes(path, raw)
    names = [a.name for a in current.accounts]
    if name not in names:
        line = load_located(raw.decode("utf-8")).lines.get(("active_account",), 1)
        raise _refuse(path, line, f"cannot swap to {name!r}: not one of the accounts this "
                                  f"file declares ({', '.join(names)}); nothing was changed")
    missing = [w for w in current.warnings if w.key == f"accounts[{names.index(name)}].home"]
    if missing:
        raise DesiredStateError(missing)
    if current.active_account == name:
        return PreparedSwap(name, current, raw, raw)
    text = raw.decode("utf-8")
    try:
        new_text = rewrite_active_account(text, name)
    except _UnswappableError as exc:
        raise _refuse(path, exc.line, str(exc)) from None
    new_bytes = new_text.encode("utf-8")
    updated = load_desired_bytes(path, new_bytes)
    expected = yaml.safe_load(text)
    expected["active_account"] = name
    if updated.active_account != name or yaml.safe_load(new_text) != expected:
        raise _refuse(path, 1, "rewriting active_account here would change other keys too; "
                      "write it as a plain 'active_account: NAME' line and swap again")
    return PreparedSwap(current.active_account, updated, raw, new_bytes)


def swap_active_account(
    path: Path, name: str, *, reason: str, state: StateDir | None = None,
    dry_run: bool = False, now: bool = False,
) -> tuple[str, DesiredState]:
    """Make ``name`` the active account; returns (previous account, new state).

    Refuses what ``prepare_swap`` refuses, and changes nothing then; with ``dry_run``
    nothing is written or recorded either way. An edit that lands while the swap is
    prepared is never overwritten: the swap starts again from the edited file. ``now``:
    the moves cut busy turns rather than wait for them (also when ``name`` is already
    active: the moves still waiting go at once).
    """
    for _ in range(3):
        prepared = prepare_swap(path, name)
        if dry_run:
            return prepared.previous, prepared.updated
        if prepared.previous == name:
            if now and state is not None:
                state.cut_turns_now(name)
            return prepared.previous, prepared.updated
        real = Path(os.path.realpath(path))
        if read_desired_bytes(path) != prepared.old_bytes:
            continue  # someone saved the file meanwhile: prepare again from their text
        if state is not None:
            state.check_writable()
        write_atomic(real, prepared.new_bytes, mode=real.stat().st_mode & 0o7777)
        if state is not None:
            state.record_swap(prepared.previous, name, reason, now=now)
        return prepared.previous, prepared.updated
    raise _refuse(path, 1, "the file kept changing while the swap was prepared; try again")
