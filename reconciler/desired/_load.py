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
from reconciler.desired._messages import explain, redacted
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
    if len(raw) > MAX_FILE_BYTES:  # the file read is bounded; a swap's new text is not
        raise DesiredStateError([Problem(path, 1, "", f"would be {len(raw)} bytes; a desired "
                                                      f"file is at most {MAX_FILE_BYTES}")])
    doc = _parse(path, raw)
    cache = _ValidatedCache(env)
    key = cache.key(raw)
    cached = cache.known(key)
    problems = [] if cached else list(_shape_problems(path, doc))
    if problems:
        raise DesiredStateError(redacted(problems, doc.data))
    home = Path(env.get("HOME") or Path.home())
    builder = Builder(path, doc, home)
    try:
        state = builder.build(hashlib.sha256(raw).hexdigest())
        problems = builder.problems + list(_semantic_problems(path, doc, state))
    except (ValueError, OverflowError, RecursionError) as exc:  # a value the checks missed:
        raise DesiredStateError(redacted([Problem(  # a problem in the file, not a traceback
            path, 1, "", f"a value this version cannot use ({type(exc).__name__}: "
                         f"{str(exc)[:200]})")], doc.data)) from None
    if problems:
        raise DesiredStateError(redacted(problems, doc.data))
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
        problem = exc.problem or ""
        opened = any(w in (exc.context or "") for w in ("flow", "quoted"))
        if exc.context_mark is not None and ("end of stream" in problem or (
                opened and exc.problem_mark is not None
                and exc.problem_mark.line > exc.context_mark.line)):
            # an unclosed quote or bracket: the parser notices a line later (or at the
            # end); the mistake is where it opened
            mark = exc.context_mark
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
        yield from explain(path, doc, error)


def _semantic_problems(path: Path, doc: LocatedDocument, state: DesiredState) -> Iterator[Problem]:
    def problem(where: KeyPath, message: str) -> Problem:
        return Problem(path, doc.line_of(where), dotted(where), message)

    names = [a.name for a in state.accounts]
    if state.active_account not in names:
        yield problem(("active_account",), f"{state.active_account!r} is not one of the accounts "
                      f"({', '.join(names)})")
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
    yield from _nesting(problem, state)
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
            yield problem(("failover", "order", i), f"{name!r} is not one of the accounts "
                          f"({', '.join(names)})")
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


def _nesting(problem: Any, state: DesiredState) -> Iterator[Problem]:
    """Homes, the shared dir and the link must stay apart, compared as they resolve: a
    shared dir that is a symlink to a home would have a merge move a home into itself.
    The link is itself a symlink to the active home, so only its parent is resolved."""
    def real(path: Path) -> Path:
        return Path(os.path.realpath(path))

    def seen(written: Path, resolved: Path) -> str:
        return str(written) + ("" if written == resolved else f" (really {resolved})")

    link = real(state.link.parent) / state.link.name
    shared = real(state.shared.dir)
    the_link, the_shared = f"link {state.link}", f"shared.dir {state.shared.dir}"
    homes = [(i, a.home, real(a.home)) for i, a in enumerate(state.accounts)]
    for i, written, home in homes:
        where: KeyPath = ("accounts", i, "home")
        this, the_home = seen(written, home), f"accounts[{i}].home {written}"
        for j, other_written, other in homes:
            if i != j and _inside(home, other):
                yield problem(where, f"{this} is inside accounts[{j}].home {other_written}")
        if _inside(link, home) or link == home:
            yield problem(("link",), f"{seen(state.link, link)} is inside {the_home}: it "
                          "would loop")
        if _inside(home, link):
            yield problem(where, f"{this} is inside the {the_link}")
        if shared == home:
            yield problem(("shared", "dir"), f"{seen(state.shared.dir, shared)} is the same "
                          f"directory as {the_home}; a merge would move the home into itself")
        elif _inside(shared, home):
            yield problem(("shared", "dir"), f"{seen(state.shared.dir, shared)} is inside "
                          f"{the_home}")
        if _inside(home, shared):
            yield problem(where, f"{this} is inside {the_shared}")
    if _inside(shared, link) or shared == link:
        yield problem(("shared", "dir"), f"{seen(state.shared.dir, shared)} is inside the "
                      f"{the_link}; it would move with every swap")
    elif _inside(link, shared):
        entry = link.relative_to(shared).parts[0]
        what = f"the shared entry {entry} of {the_shared}" if entry in state.shared.entries \
            else the_shared
        yield problem(("link",), f"{seen(state.link, link)} is inside {what}; every account "
                      "would see it, and a merge would move it")


def _inside(path: Path, parent: Path) -> bool:
    return path != parent and path.is_relative_to(parent)
