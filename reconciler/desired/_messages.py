"""What a JSON Schema error says to a person: the key, what was expected, and never a
secret.

A message shows the value only when it is a scalar outside any secret-like path: a
mapping or a list may hold a secret anywhere inside it (an alert sink without ``type``
holds its URL and headers), so it is named by its kind ("a mapping", "a list") instead.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from reconciler.desired._errors import Problem
from reconciler.desired._yaml import KeyPath, LocatedDocument, dotted

_SECRET_KEY = re.compile(r"(?i)token|secret|passw|api.?key|auth|credential|cookie|headers|url")
_PLAIN_SINK_KEYS = frozenset({"type", "timeout"})
"""Keys of an alert sink whose values are never credentials; every other value of a sink
(a URL, a header, a command that may carry a token) is kept out of messages."""


def secret(where: KeyPath) -> bool:
    """A value that may be a credential: ``launch.env``, an alert sink's values but its
    ``type`` and ``timeout``, and anything under a key named like a secret. Its problems
    name the key, never the value."""
    if where[:2] == ("launch", "env"):
        return True
    if where[:1] == ("alerts",) and len(where) >= 2 and (
            len(where) == 2 or where[2] not in _PLAIN_SINK_KEYS):
        return True
    return any(isinstance(key, str) and _SECRET_KEY.search(key) for key in where)


def secret_scalars(data: Any, where: KeyPath = ()) -> Iterator[str]:
    """Text of every scalar of the document under a secret-like path (for a last check
    that no message carries one, whoever built it)."""
    if isinstance(data, dict):
        for key, value in data.items():
            yield from secret_scalars(value, (*where, str(key)))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from secret_scalars(value, (*where, index))
    elif data is not None and not isinstance(data, bool) and secret(where):
        yield str(data)


def redacted(problems: Iterable[Problem], data: Any) -> list[Problem]:
    """``problems`` with any secret value of ``data`` cut out of their messages."""
    hidden = sorted({s for s in secret_scalars(data) if len(s) >= 6}, key=len, reverse=True)
    out = []
    for problem in problems:
        message = problem.message
        for value in hidden:
            if value in message:
                message = message.replace(repr(value), "(value not shown)").replace(
                    value, "(value not shown)")
        out.append(problem if message == problem.message else Problem(
            problem.file, problem.line, problem.key, message))
    return out


_KIND = {"object": "a mapping", "array": "a list", "string": "a string",
         "integer": "a whole number", "number": "a number", "boolean": "true or false",
         "null": "empty"}
_NOUN = {"alerts": "a list of sinks", "accounts": "a list of accounts (name and home)",
         "pool.dedicated": "a list of sessions", "failover.order": "a list of account names",
         "shared.entries": "a list of entry names", "launch.env": "a mapping of NAME: value",
         "alerts[].headers": "a mapping of Header: value",
         "alerts[].command": "a list of words, such as [notify-send, reconciler]"}
_PATTERN = {
    "^[A-Za-z0-9_][A-Za-z0-9_-]{0,63}$(?!\\n)":
        "a name is 1 to 64 letters, digits, '_' and '-', not starting with '-'",
    "^[A-Za-z0-9_][A-Za-z0-9_-]{0,47}$(?!\\n)":
        "a prefix is 1 to 48 letters, digits, '_' and '-', not starting with '-'",
    "^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$(?!\\n)":
        "an entry is one name (no '/') of 1 to 128 letters, digits, '_', '.' and '-', "
        "not starting with '.' or '-'",
    "^[A-Za-z0-9_.-]{1,64}$(?!\\n)": "a socket name is 1 to 64 letters, digits, '_', '.' "
                                     "and '-'",
    "^[A-Za-z_][A-Za-z0-9_]*$(?!\\n)": "a variable name is letters, digits and '_', not "
                                       "starting with a digit",
    "^https?://": "a URL starts with http:// or https://",
    "^[^\\u0000]*$": "a path has no NUL character",
}
DURATION_FORMS = "30s, 5m, 1h30m, 250ms, 2d, or a number of seconds"


def kind(value: Any) -> str:
    """What ``value`` is, in the file's words, without its content."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty"
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, int | float):
        return "a number"
    return "a string"


def shown(value: Any, where: KeyPath) -> str:
    """``value`` as a message may show it: a short scalar outside secret paths, else its
    kind only."""
    if isinstance(value, dict | list) or value is None:
        return kind(value)
    if secret(where):
        return f"{kind(value)} (not shown: it may be a secret)"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _noun(where: KeyPath, expected: Any, schema: dict[str, Any]) -> str:
    generic = dotted(tuple("" if isinstance(k, int) else k for k in where)).replace(".[]", "[]")
    if generic in _NOUN:
        return _NOUN[generic]
    keys = list(schema.get("properties", {}))
    if expected == "object" and keys:
        return f"a mapping of keys ({', '.join(keys[:4])}{', ...' if len(keys) > 4 else ''})"
    types = expected if isinstance(expected, list) else [expected]
    words = [_KIND.get(str(t), str(t)) for t in types]
    return " or ".join(words)


def explain(path: Path, doc: LocatedDocument, error: Any) -> Iterator[Problem]:
    """The problems one jsonschema error stands for, each at its key's line."""
    where: KeyPath = tuple(error.absolute_path)

    def at(key: KeyPath, message: str) -> Problem:
        return Problem(path, doc.line_of(key), dotted(key), message)

    value = error.instance
    rule = error.validator
    if rule == "additionalProperties" and isinstance(value, dict):
        known = sorted(error.schema.get("properties", {}))
        for key in sorted(set(value) - set(known), key=str):
            yield at((*where, key), unknown_key(str(key), known))
        return
    if rule == "required" and isinstance(value, dict):
        for key in error.validator_value:
            if key not in value:
                yield at((*where, key), "required key missing")
        return
    if rule in {"oneOf", "anyOf"}:
        yield from _explain_choice(path, doc, error, at)
        return
    if rule == "pattern" and list(error.schema_path)[-2:-1] == ["propertyNames"]:
        allowed = _PATTERN.get(error.validator_value, "it has characters not allowed here")
        yield at(where, f"the name {shown(value, where)} is not allowed: {allowed}")
        return
    yield at(where, _message(error, where))


def unknown_key(key: str, known: list[str]) -> str:
    close = difflib.get_close_matches(key, known, n=1)
    if close:
        return f"unknown key {key!r} (did you mean {close[0]!r}?)"
    return f"unknown key {key!r}; known here: {', '.join(known)}"


def _message(error: Any, where: KeyPath) -> str:
    value, rule = error.instance, error.validator
    if rule == "type" and value is None:
        return "is empty (YAML reads nothing, `null` or a bare `~` as no value)" + (
            "; a home is written as a path, such as ~/.claude-NAME"
            if where and where[-1] == "home" else "")
    if secret(where):
        found = f"; it is {kind(value)}" if rule == "type" else ""
        return f"{_rule(error, where, None)} (the value is not shown: it may be a secret){found}"
    return _rule(error, where, shown(value, where))


def _rule(error: Any, where: KeyPath, found: str | None) -> str:
    """What ``error`` asks for; ``found`` is the value as it may be shown, None when it
    may not be (then a type error keeps its plain "must be of type X" form)."""
    value, rule, want = error.instance, error.validator, error.validator_value
    but = f", not {found}" if found is not None else ""
    if rule == "type":
        if found is None:
            plain = {"object": "mapping", "array": "list"}
            names = [plain.get(str(t), str(t))
                     for t in (want if isinstance(want, list) else [want])]
            return f"must be of type {' or '.join(names)}"
        return f"must be {_noun(where, want, error.schema)}, not {kind(value)}"
    if rule == "pattern":
        allowed = _PATTERN.get(want)
        if allowed is None:
            return "has characters that are not allowed here"
        return f"is not allowed: {allowed}" if found is None else (
            f"{found} is not allowed: {allowed}")
    if rule == "const":
        return f"must be {want!r}{but}"
    if rule == "enum":
        return f"must be one of {', '.join(map(str, want))}{but}"
    if rule in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        bound = {"minimum": "at least", "maximum": "at most", "exclusiveMinimum": "more than",
                 "exclusiveMaximum": "less than"}[rule]
        return f"must be {bound} {want}{but}"
    if rule == "minLength":
        return "must not be empty" if want == 1 else f"must be at least {want} characters"
    if rule == "maxLength":
        return f"is too long: at most {want} characters"
    if rule == "minItems":
        return "must not be an empty list" if want == 1 else f"needs at least {want} items"
    if rule == "uniqueItems" and isinstance(value, list):
        for index, item in enumerate(value):
            if item in value[:index]:
                return f"lists {shown(item, where) if found else 'an item'} more than once"
        return "lists an item more than once"
    return f"fails the {rule} check" + (
        "" if found is None or isinstance(value, dict | list) else f" ({error.message})")


def _explain_choice(path: Path, doc: LocatedDocument, error: Any, at: Any) -> Iterator[Problem]:
    """A oneOf: a sink tagged by ``type``, a value or null, or a duration."""
    where: KeyPath = tuple(error.absolute_path)
    value = error.instance
    branches: list[dict[str, Any]] = error.schema.get(error.validator, [])
    tags = [b.get("properties", {}).get("type", {}).get("const") for b in branches]

    def branch_errors(index: int) -> list[Any]:
        return [e for e in error.context if e.schema_path and e.schema_path[0] == index]

    if tags and all(tags):  # tagged objects: the alert sinks
        forms = ", ".join(tags[:-1]) + f" or {tags[-1]}"
        if not isinstance(value, dict):
            yield at(where, f"must be a sink: a mapping with a `type` ({forms}), "
                            f"not {kind(value)}")
        elif "type" not in value:
            yield at(where, f"needs a `type` ({forms})")
        elif value["type"] not in tags:
            yield at((*where, "type"), f"must be {forms}, not {shown(value['type'], ('type',))}")
        else:
            for sub in branch_errors(tags.index(value["type"])):
                yield from explain(path, doc, sub)
        return
    others = [i for i, b in enumerate(branches) if b.get("type") != "null"]
    if value is not None and len(others) == 1 and len(branches) == 2:  # a value or null
        for sub in branch_errors(others[0]):
            yield from explain(path, doc, sub)
        return
    if any("ms|s|m|h|d" in str(b.get("pattern", "")) for b in branches):
        if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
            yield at(where, f"{shown(value, where)} is negative: a duration is "
                            f"{DURATION_FORMS}")
        else:
            yield at(where, f"{shown(value, where)} is not a duration: write {DURATION_FORMS}")
        return
    deepest = max(error.context, key=lambda e: len(e.absolute_path), default=None)
    if deepest is not None and len(deepest.absolute_path) > len(error.absolute_path):
        yield from explain(path, doc, deepest)
        return
    yield at(where, f"{shown(value, where)} is not one of the allowed forms")
