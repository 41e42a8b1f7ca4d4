"""Load, validate and expand a desired-state file.

Three passes, all before anything is touched: YAML with line marks, the JSON
Schema (shape), then semantic checks the schema cannot say (references between
keys, paths that would nest or loop). Every problem names file, line and key.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import stat
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from reconciler.claudecode import CONFIG_ENV, HOME_FILES, NEVER_SHARED, home_key, terminal_safe
from reconciler.desired._build import Builder
from reconciler.desired._errors import DesiredStateError, Problem
from reconciler.desired._model import DesiredState
from reconciler.desired._yaml import KeyPath, LocatedDocument, dotted, load_located
from reconciler.statedir import write_atomic

MAX_FILE_BYTES = 1 << 20


@functools.cache
def _schema_bytes() -> bytes:
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "_schemas", here.parent / "schemas"):
        path = candidate / "desired_state.schema.json"
        if path.is_file():
            return path.read_bytes()
    raise FileNotFoundError("desired_state.schema.json is not installed with reconciler")


def schema() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(_schema_bytes())
    return loaded


class _ValidatedCache:
    """Digests of files that passed the JSON Schema, so an unchanged file skips it.

    jsonschema costs ~70 ms to import and validate, most of a dry run. The key is the
    file's digest and the schema's, so any edit or schema change validates again.
    Best effort: an unreadable or unwritable cache only costs the time.
    """

    KEEP = 64

    def __init__(self, environ: Mapping[str, str]) -> None:
        xdg = environ.get("XDG_CACHE_HOME")
        home = Path(environ.get("HOME") or "~").expanduser()
        base = Path(xdg) if xdg else home / ".cache"
        self.usable = base.is_dir() or home.is_dir()  # never create a home that is not there
        self.path = base / "reconciler" / "validated"

    @staticmethod
    def key(raw: bytes) -> str:
        return hashlib.sha256(raw).hexdigest() + ":" + hashlib.sha256(_schema_bytes()).hexdigest()

    def known(self, key: str) -> bool:
        if not self.usable:
            return False
        try:
            return key in self.path.read_text().split()
        except OSError:
            return False

    def remember(self, key: str) -> None:
        if not self.usable:
            return
        try:
            keys = self.path.read_text().split() if self.path.exists() else []
            keys = [*(k for k in keys if k != key), key][-self.KEEP:]
            write_atomic(self.path, ("\n".join(keys) + "\n").encode())
        except OSError:
            return


def load_desired(path: Path, environ: Mapping[str, str] | None = None) -> DesiredState:
    """The validated desired state; raises DesiredStateError listing every problem."""
    return load_desired_bytes(path, read_desired_bytes(path), environ)


def load_desired_bytes(path: Path, raw: bytes,
                       environ: Mapping[str, str] | None = None) -> DesiredState:
    """The desired state ``raw`` would be as the file ``path`` (a swap checks its new
    text with this before it writes); problems name ``path``."""
    env = os.environ if environ is None else environ
    doc = _parse(path, raw)
    cache = _ValidatedCache(env)
    key = cache.key(raw)
    cached = cache.known(key)
    problems = [] if cached else list(_shape_problems(path, doc))
    if problems:
        raise DesiredStateError(problems)
    home = Path(env.get("HOME") or Path.home())
    builder = Builder(path, doc, home)
    try:
        state = builder.build(hashlib.sha256(raw).hexdigest())
        problems = builder.problems + list(_semantic_problems(path, doc, state))
    except (ValueError, OverflowError, RecursionError) as exc:  # a value the checks missed:
        raise DesiredStateError([Problem(  # still a problem in the file, never a traceback
            path, 1, "", f"a value this version cannot use ({type(exc).__name__}: "
                         f"{str(exc)[:200]})")]) from None
    if problems:
        raise DesiredStateError(problems)
    if not cached:
        cache.remember(key)
    return replace(state, warnings=tuple(_missing_homes(path, doc, state, home)))


def _missing_homes(path: Path, doc: LocatedDocument, state: DesiredState,
                   home: Path) -> Iterator[Problem]:
    """A home that is not there yet: fine to write down, but nothing may move into it."""
    adoptable = state.link.is_dir() and not state.link.is_symlink()
    for i, account in enumerate(state.accounts):
        if not account.home.is_dir():
            shown = f"~/{account.home.relative_to(home)}" if account.home.is_relative_to(
                home) else str(account.home)
            if i == 0 and adoptable:  # the user's real ~/.claude is to become this home
                why = (f"account {account.name}: {shown} does not exist yet; do not create "
                       f"it: `reconcile adopt` makes your {state.link.name} into it")
            else:
                why = (f"account {account.name}: {shown} does not exist; create it and log "
                       f"in first (CLAUDE_CONFIG_DIR={shown} claude, then /login)")
            yield Problem(path, doc.line_of(("accounts", i, "home")), f"accounts[{i}].home",
                          why)


def read_desired_bytes(path: Path) -> bytes:
    """The file's bytes: a regular file of bounded size, read without ever blocking."""
    def fail(message: str) -> DesiredStateError:
        return DesiredStateError([Problem(path, 1, "", message)])

    try:
        st = path.stat()
        if not stat.S_ISREG(st.st_mode):
            what = ("a directory" if stat.S_ISDIR(st.st_mode) else
                    "a FIFO (reading it could wait forever)" if stat.S_ISFIFO(st.st_mode) else
                    "a device or a socket")
            raise fail(f"is {what}; a desired file is a regular file")
        if st.st_size > MAX_FILE_BYTES:
            raise fail(f"file is {st.st_size} bytes; a desired file is at most {MAX_FILE_BYTES}")
        # O_NONBLOCK: should it have become a FIFO since the stat, the open must not hang.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise fail("is not a regular file")
            return handle.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise fail(f"no such file. Write a first one from what runs here with `reconcile init "
                   f"-f {path}`, or point to yours with -f FILE (or $RECONCILER_DESIRED)"
                   ) from None
    except OSError as exc:
        raise fail(f"cannot read: {exc.strerror or exc}") from None


def _parse(path: Path, raw: bytes) -> LocatedDocument:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise DesiredStateError(
            [Problem(path, line, "", f"not UTF-8 (byte 0x{raw[exc.start]:02x})")]
        ) from None
    try:
        doc = load_located(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and "end of stream" in (exc.problem or ""):
            mark = exc.context_mark  # an unclosed quote or bracket: point where it opened
        line = mark.line + 1 if mark else 1
        what = " ".join(filter(None, [exc.context, exc.problem]))
        raise DesiredStateError([Problem(path, line, "", f"YAML syntax: {what}")]) from None
    except RecursionError:
        raise DesiredStateError([Problem(path, 1, "", "YAML: nested too deeply; a desired "
                                         "file is a few levels deep")]) from None
    except yaml.YAMLError as exc:
        raise DesiredStateError([Problem(path, 1, "", f"YAML: {exc}")]) from None
    except ValueError as exc:  # a scalar Python will not convert (a 5,000-digit integer)
        found = re.search(r"[0-9_]{4300,}", text)
        line = text.count("\n", 0, found.start()) + 1 if found else 1
        raise DesiredStateError([Problem(path, line, "", f"a value too large to read: "
                                         f"{str(exc).split(':')[0]}")]) from None
    if doc.duplicates:
        raise DesiredStateError(
            [Problem(path, line, dotted(key), "duplicate key") for key, line in doc.duplicates]
        )
    return doc


def _shape_problems(path: Path, doc: LocatedDocument) -> Iterator[Problem]:
    import jsonschema  # noqa: PLC0415  (costly import, only when a file is validated)

    if not isinstance(doc.data, dict):
        yield Problem(path, 1, "", "the document must be a mapping of keys")
        return
    validator = jsonschema.Draft202012Validator(schema())
    for error in sorted(validator.iter_errors(doc.data), key=lambda e: list(e.absolute_path)):
        yield from _explain(path, doc, error)


def _explain(path: Path, doc: LocatedDocument, error: Any) -> Iterator[Problem]:
    where: KeyPath = tuple(error.absolute_path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        for key in sorted(set(error.instance) - allowed, key=str):
            child = (*where, key)
            yield Problem(path, doc.line_of(child), dotted(child), "unknown key")
        return
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else error.message
        yield Problem(path, doc.line_of(where), dotted((*where, missing)), "required key missing")
        return
    if error.validator in {"oneOf", "anyOf"} and error.context:
        branch = _matching_branch(error)
        deepest = max(branch or error.context, key=lambda e: len(e.absolute_path))
        if branch or len(deepest.absolute_path) > len(error.absolute_path):
            yield from _explain(path, doc, deepest)
            return
    message = error.message
    if _secret(where):
        message = _without_value(error)
    elif error.validator == "pattern":
        message = f"{error.instance!r} has characters that are not allowed here"
    elif error.validator == "oneOf":
        message = f"{error.instance!r} is not one of the allowed forms"
    elif error.validator == "type" and error.instance is None:
        message = "is empty (YAML reads nothing, `null` or a bare `~` as no value)" + (
            "; a home is written as a path, such as ~/.claude-NAME"
            if where and where[-1] == "home" else "")
    yield Problem(path, doc.line_of(where), dotted(where), message)


_SECRET_KEY = re.compile(r"(?i)token|secret|passw|api.?key|auth|credential|cookie|headers|url")


def _secret(where: KeyPath) -> bool:
    """A value that may be a credential: ``launch.env``, webhook headers and URL, and
    any key named like a secret. Its problems name the key, never the value."""
    return where[:2] == ("launch", "env") or any(
        isinstance(key, str) and _SECRET_KEY.search(key) for key in where)


def _without_value(error: Any) -> str:
    rule = {"type": f"must be of type {error.validator_value}",
            "pattern": "has characters that are not allowed here",
            "minLength": "is too short", "maxLength": "is too long"}.get(
        error.validator, f"fails the {error.validator} check")
    return f"{rule} (the value is not shown: it may be a secret)"


def _matching_branch(error: Any) -> list[Any]:
    """For a oneOf of tagged objects (``type: webhook``...), the errors of the branch
    whose tag the instance names: the other branches only say "wrong type"."""
    tag = error.instance.get("type") if isinstance(error.instance, dict) else None
    if tag is None:
        return []
    branches = error.schema.get(error.validator, [])
    for index, branch in enumerate(branches):
        if branch.get("properties", {}).get("type", {}).get("const") == tag:
            return [e for e in error.context if e.schema_path and e.schema_path[0] == index]
    return []


def _semantic_problems(path: Path, doc: LocatedDocument, state: DesiredState) -> Iterator[Problem]:
    def problem(where: KeyPath, message: str) -> Problem:
        return Problem(path, doc.line_of(where), dotted(where), message)

    names = [a.name for a in state.accounts]
    if state.active_account not in names:
        yield problem(("active_account",), f"{state.active_account!r} is not in accounts {names}")
    yield from _duplicates(problem, "accounts", "name", names)
    real_homes: dict[str, int] = {}
    keys: dict[str, int] = {}
    for i, account in enumerate(state.accounts):
        first = real_homes.setdefault(os.path.realpath(account.home), i)
        if first != i:
            yield problem(("accounts", i, "home"), f"same directory as accounts[{first}].home"
                          " (one config home cannot be two accounts)")
            continue
        same = keys.setdefault(home_key(account.home), i)
        if same != i:  # ~/.claude_x and ~/.claude-x: one name where Claude's signals land
            yield problem(("accounts", i, "home"), f"{account.home} and "
                          f"{state.accounts[same].home} differ only in characters other "
                          "than letters and digits; Claude's limit signals could not tell "
                          "them apart. Rename one")
    homes = [(i, a.home) for i, a in enumerate(state.accounts)]
    for i, home in homes:
        for j, other in homes:
            if i != j and _inside(home, other):
                yield problem(("accounts", i, "home"), f"{home} is inside {other}")
        if _inside(state.link, home) or state.link == home:
            yield problem(("link",), f"{state.link} is inside the home {home}: it would loop")
        if _inside(home, state.link):
            yield problem(("accounts", i, "home"), f"{home} is inside the link {state.link}")
        if _inside(state.shared.dir, home) or state.shared.dir == home:
            yield problem(("shared", "dir"), f"{state.shared.dir} is inside the home {home}")
        if _inside(home, state.shared.dir):
            yield problem(("accounts", i, "home"), f"{home} is inside the shared dir")
    if _inside(state.shared.dir, state.link) or state.shared.dir == state.link:
        yield problem(("shared", "dir"), f"{state.shared.dir} is inside the link "
                      f"{state.link}; it would move with every swap")
    elif _inside(state.link, state.shared.dir):
        entry = state.link.relative_to(state.shared.dir).parts[0]
        what = f"the shared entry {entry}" if entry in state.shared.entries else "the shared dir"
        yield problem(("link",), f"{state.link} is inside {what}; every account would see "
                      "it, and a merge would move it")
    for i, entry in enumerate(state.shared.entries):
        if entry in NEVER_SHARED:
            yield problem(("shared", "entries", i), f"{entry} belongs to one account; never share")
        elif entry in HOME_FILES:
            yield problem(("shared", "entries", i), f"{entry} is a file each account keeps "
                          "for itself; shared entries are directories (projects, todos...)")

    for key, value in state.launch.env:
        if key == CONFIG_ENV:
            yield problem(("launch", "env", key), f"{CONFIG_ENV} is set per account by the "
                          "reconciler; remove it here (accounts[].home says where)")
        elif not terminal_safe(value):
            yield problem(("launch", "env", key), "has control characters (a newline would "
                          "end the launch line early); not allowed")
    for i, name in enumerate(state.failover.order):
        if name not in names:
            yield problem(("failover", "order", i), f"{name!r} is not in accounts {names}")
    pool = state.autonomous
    if pool is not None and pool.min > pool.max:
        yield problem(("pool", "autonomous", "min"), f"min {pool.min} > max {pool.max}")
    dedicated = [d.name for d in state.dedicated]
    yield from _duplicates(problem, ("pool", "dedicated"), "name", dedicated)
    for i, session in enumerate(state.dedicated):
        if pool is not None and pool.index_of(session.name) is not None:
            yield problem(
                ("pool", "dedicated", i, "name"),
                f"{session.name!r} matches the autonomous prefix {pool.prefix!r}",
            )


def _duplicates(
    problem: Any, where: str | KeyPath, key: str, values: list[str]
) -> Iterator[Problem]:
    base: KeyPath = (where,) if isinstance(where, str) else where
    seen: set[str] = set()
    for index, value in enumerate(values):
        if value in seen:
            yield problem((*base, index, key), f"duplicate {key} {value!r}")
        seen.add(value)


def _inside(path: Path, parent: Path) -> bool:
    return path != parent and path.is_relative_to(parent)
