"""Every reader of Claude's files and inputs under the fuzzer (hypothesis): the limit
grammar and its judge, session files, transcripts, settings, ``.claude.json``, the
credentials, the hook's spool, the status-line spool, the usage endpoint's answer (from a
loopback socket that says anything), tmux's output and ``/proc/<pid>/stat``.

Two properties, each a table of readers:

* nothing escapes a reader: arbitrary bytes and text, arbitrary JSON values (huge ints,
  NaN and Infinity, wrong types in every field, deep nesting, lone surrogates), and
  mutations of real samples (a 2.1.337 limit row, a hook event, a status line ...);
* reading N bytes costs at most ``FACTOR * N + SLACK`` of memory at its peak, and a
  reader that bounds what it reads costs that of its bound however large the file.

Files are real files under a temp dir, read by the real functions. Speed (no worse than
linear) is the bench's ``readers_linear``, never a timed assertion here. Modest example
counts by default; ``RECONCILER_LONG=1`` for ten times as many.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import os
import shutil
import socket
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from _builders import desired_yaml, load_text
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from reconciler.claudecode import (
    SessionId,
    api_error_row,
    home_key,
    last_resume_hint,
    last_turn_cut,
    sessions_dir,
    transcript_dir,
    transcript_rows,
)
from reconciler.desired import DesiredState
from reconciler.failover import _evidence
from reconciler.failover._capacity import rooms, usage
from reconciler.failover._detect import detect, normalise
from reconciler.failover._evidence import hook_evidence, pane_text, transcript_evidence
from reconciler.failover._judge import judge
from reconciler.failover._reset import parse_reset
from reconciler.observe import (
    ClaudeFact,
    PaneFact,
    _accounts,
    _registry,
    _turns,
    parse_captures,
    parse_panes,
    parse_row,
)
from reconciler.observe._accounts import observe_account
from reconciler.observe._panes import SEP, cursor_line
from reconciler.observe._procs import parse_stat
from reconciler.observe._registry import read_registry
from reconciler.observe._settings import has_hook, observe_settings
from reconciler.observe._turns import cut_marker
from reconciler.signals import (
    ShapeError,
    SignalCommands,
    SignalDir,
    parse_event,
    put_in,
    state_of,
    take_out,
)
from reconciler.statedir import StateDir, UsageRecord, ensure_private_dir
from reconciler.usage import Target, UsagePoller, parse_usage

LONG = bool(os.environ.get("RECONCILER_LONG"))
FUZZ = settings(max_examples=1000 if LONG else 100, deadline=None, derandomize=not LONG,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
FILES = settings(FUZZ, max_examples=300 if LONG else 30)
"""Readers of real files: each example writes one, so fewer of them."""

NOW = datetime(2026, 12, 8, 12, tzinfo=UTC)
SID = SessionId("11111111-2222-4333-8444-555555555555")
CWD = "/h/src/api"
FIVE_HOURS = timedelta(hours=5)

# -- samples: what Claude writes, as the current release writes it ------------------------

LIMIT_ROW: dict[str, Any] = {
    "type": "assistant", "isApiErrorMessage": True, "error": "rate_limit",
    "apiErrorStatus": 429, "apiError": "usage_limit_reached",
    "apiErrorParams": {"rate_limit_info": {"resetsAt": 1765170000,
                                           "rateLimitType": "five_hour"}},
    "message": {"content": [{"type": "text",
                             "text": "You've hit your 5-hour limit · resets 2:12am (UTC)"}]},
    "uuid": "0b5c1e2a-1111-4222-8333-444455556666", "timestamp": "2026-12-08T11:59:00.000Z"}
"""A real 2.1.337 limit row (the uuid and timestamp added as every row has them)."""
OLD_ROW: dict[str, Any] = {
    "type": "assistant", "isApiErrorMessage": True, "error": "rate_limit",
    "apiErrorStatus": 429, "timestamp": "2026-12-08T11:59:00Z",
    "message": {"content": "Claude AI usage limit reached|1765170000"}}
USER_ROW: dict[str, Any] = {"type": "user", "isMeta": False, "uuid": "u-1",
                            "message": {"role": "user", "content": "go on"}}
SESSION_FILE: dict[str, Any] = {"pid": 4242, "sessionId": SID, "cwd": CWD, "status": "idle",
                                "startedAt": 1765160000000, "kind": "interactive"}
EVENT: dict[str, Any] = {
    "home": "@HOME@", "time": 1765195000, "event": {
        "session_id": SID, "transcript_path": "@TRANSCRIPT@", "cwd": CWD,
        "hook_event_name": "StopFailure", "error": "rate_limit", "prompt_id": "p-1",
        "last_assistant_message": "You've hit your 5-hour limit · resets 2:12am (UTC)"}}
"""A spooled StopFailure event; ``@HOME@`` and ``@TRANSCRIPT@`` are the test home's."""
STATUS: dict[str, Any] = {
    "session_id": SID, "model": {"id": "claude-opus-4-5"}, "rate_limits": {
        "five_hour": {"used_percentage": 100, "resets_at": int(NOW.timestamp()) + 7920},
        "seven_day": {"used_percentage": 41.5,
                      "resets_at": int(NOW.timestamp() + 86400 * 3) * 1000}}}
"""A status line's input: the five-hour window used up (resets in 2h12m), the weekly one
in milliseconds."""
USAGE_ANSWER: dict[str, Any] = {
    "five_hour": {"utilization": 42.0, "resets_at": "2026-12-08T14:00:00Z"},
    "seven_day": {"utilization": 12, "resets_at": 1765600000},
    "seven_day_opus": None, "extra_usage": {"is_enabled": False}}
COMMANDS = SignalCommands("/s/bin/stop-failure", "/s/bin/statusline")
SETTINGS: dict[str, Any] = {
    "hooks": {"StopFailure": [{"hooks": [{"type": "command", "command": COMMANDS.stop_failure}]}],
              "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command",
                                                             "command": "/g"}]}]},
    "statusLine": {"type": "command", "command": f"{COMMANDS.status_line} -- 'mine'"},
    "skipDangerousModePermissionPrompt": True}
CLAUDE_JSON: dict[str, Any] = {
    "hasCompletedOnboarding": True, "bypassPermissionsModeAccepted": True,
    "projects": {CWD: {"hasTrustDialogAccepted": True, "allowedTools": []}}}
CREDENTIALS: dict[str, Any] = {"claudeAiOauth": {"accessToken": "sk-ant-oat01-x",
                                                 "refreshToken": "r", "expiresAt": 1.9e12}}
LIMIT_TEXTS = [row["text"] for rows in json.loads(
    (Path(__file__).parent / "limit_texts.json").read_text(encoding="utf-8")).values()
    for row in rows]
"""What Claude Code prints, every supported release (and what it prints that is no limit)."""
PANE_ROW = SEP.join(["%3", "", "/dev/pts/4", "", "0", "1", "4242", "0", "0", "0", "0", "0",
                     "0", "2", "7", "api", "/h/src/api"])
STAT = (b"4242 (claude) S 4200 4242 4200 34820 4242 4194304 1510 0 0 0 12 3 0 0 20 0 11 0 "
        b"912345 1234567 5432 18446744073709551615 1 1 0 0 0 0 0 16781312 134234626 0 0 0 17 "
        b"1 0 0 0 0 0\n")
PANE = ("$  cd -- /h/src/api && CLAUDE_CONFIG_DIR=/h/.claude-work claude --resume "
        f"{SID}\n\x1b[1m✻ 5-hour limit reached · retrying in 5m (2:12am) · attempt 3/10\x1b[0m\n"
        "\u2500" * 20 + "\n\u276f draft\n" + "\u2500" * 20 + f"\nclaude --resume {SID}\n")

# -- strategies -----------------------------------------------------------------------------

FIELDS = sorted({
    "type", "isApiErrorMessage", "error", "apiErrorStatus", "apiError", "apiErrorParams",
    "rate_limit_info", "resetsAt", "rateLimitType", "message", "content", "text", "uuid",
    "timestamp", "isMeta", "pid", "sessionId", "cwd", "status", "home", "time", "event",
    "account", "session_id", "transcript_path", "last_assistant_message", "prompt_id",
    "rate_limits", "five_hour", "seven_day", "used_percentage", "resets_at", "utilization",
    "hooks", "StopFailure", "PreToolUse", "matcher", "command", "statusLine", "projects",
    "hasTrustDialogAccepted", "skipDangerousModePermissionPrompt",
    "bypassPermissionsModeAccepted", "hasCompletedOnboarding", "claudeAiOauth",
    "accessToken", "expiresAt"})
NUMBERS = st.one_of(
    st.integers(), st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from([0, -1, 429, 2**31, 2**63, 2**64, 10**20, 10**400, 1765170000,
                     1765170000000, 1765170000 * 10**6]),
    st.floats(), st.sampled_from([float("nan"), float("inf"), -float("inf"), 1e300, -0.0,
                                  5e-324, 100.0, 1e11, 1e15]))
STRINGS = st.one_of(
    st.text(max_size=40),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), max_size=3),
    st.sampled_from(["", "\x00", "rate_limit", "usage_limit_reached", "five_hour",
                     "assistant", "user", SID, SID.upper(), "2026-12-08T11:59:00",
                     "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59+00:00", "-1", "1e400",
                     "NaN", "Z", "x" * 5000, *LIMIT_TEXTS[:3]]))
LEAVES = st.one_of(st.none(), st.booleans(), NUMBERS, STRINGS)
KEYS = st.one_of(st.sampled_from(FIELDS), st.text(max_size=8))
JSON = st.recursive(LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=5)), max_leaves=24)
"""Any JSON value Python's ``json`` reads (it reads NaN, Infinity and 400-digit ints)."""


def _places(value: Any) -> Iterator[tuple[Any, Any]]:
    """(container, key) of every value inside ``value``."""
    items = value.items() if isinstance(value, dict) else (
        enumerate(value) if isinstance(value, list) else ())
    for key, child in list(items):
        yield value, key
        yield from _places(child)


@st.composite
def mutated(draw: st.DrawFn, sample: Any) -> Any:
    """A real sample with one to three of its values replaced by anything, or dropped."""
    value = copy.deepcopy(sample)
    for _ in range(draw(st.integers(1, 3))):
        places = list(_places(value))
        if not places:
            return draw(JSON)
        container, key = draw(st.sampled_from(places))
        if isinstance(container, dict) and draw(st.booleans()):
            del container[key]
        else:
            container[key] = draw(st.one_of(JSON, st.sampled_from(
                [{"x": [[[[[[[[1]]]]]]]]}, [], {}, "", 0, float("nan"), 10**400])))
    return value


def values(sample: Any) -> st.SearchStrategy[Any]:
    return st.one_of(mutated(sample), JSON)


def _dumps(value: Any) -> bytes:
    return json.dumps(value).encode("utf-8", "surrogatepass")


@st.composite
def spoiled(draw: st.DrawFn, data: bytes) -> bytes:
    """Bytes of a real file, cut, spliced with junk (NULs, invalid UTF-8, a BOM, newlines)
    or repeated."""
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(data)))
        junk = draw(st.one_of(st.binary(max_size=8), st.sampled_from(
            [b"\x00", b"\xff\xfe", b"\xef\xbb\xbf", b"\xc3", b"\n", b"\r\n", b'"', b"}",
             b"\\ud800", b"[" * 50])))
        data = draw(st.sampled_from([data[:at], data[:at] + junk + data[at:],
                                     junk + data, data * 2]))
    return data


def file_bytes(sample: Any) -> st.SearchStrategy[bytes]:
    """What a reader of ``sample``'s file may find there."""
    real = _dumps(sample)
    return st.one_of(values(sample).map(_dumps), spoiled(real), st.binary(max_size=200),
                     st.sampled_from([b"", b"\n", b"null", b"[" * 100_000, _deep(990),
                                      _deep(5000), b"1" * 5000, b"NaN", b"-Infinity",
                                      b"\x00" * 64, real.replace(b"{", b"[", 1)]))


def _deep(depth: int) -> bytes:
    """An object nested ``depth`` deep: as deep as ``json`` reads (990), or deeper."""
    return b'{"a":' * depth + b"1" + b"}" * depth


def lines_of(*samples: Any) -> st.SearchStrategy[bytes]:
    """A transcript: rows (real ones, spoiled ones, anything), one per line."""
    row = st.one_of(*(values(s).map(_dumps) for s in samples), st.binary(max_size=60),
                    st.sampled_from([b"", b"[" * 3000, _deep(990), b'{"type":"assistant"']))
    return st.lists(row, max_size=6).map(b"\n".join)


@st.composite
def near_texts(draw: st.DrawFn) -> str:
    """Claude's words, cut, spliced, repeated, or mixed with junk."""
    text = draw(st.sampled_from(LIMIT_TEXTS))
    for _ in range(draw(st.integers(0, 3))):
        at = draw(st.integers(0, len(text)))
        piece = draw(st.one_of(st.text(max_size=10), st.sampled_from(
            [" · ", "\n", "\x1b[1m", "\x1b]8;;", "\x00", "\ud800", "resets ", "(UTC)",
             "You've hit your ", "What do you want to do?\n", "|1765170000", "\u2019",
             "at 25:99pm", "Feb 30, 2026", "(America)", "(Etc)", "in 99999999999 hours"])))
        text = draw(st.sampled_from([text[:at] + piece + text[at:], text[:at], text * 2,
                                     text[at:] + "\n" + text[:at]]))
    return text


TEXTS = st.one_of(near_texts(), st.text(), st.text(alphabet="You'vehit r5-houlmsa·\n ()"))
ZONES: list[tzinfo] = [UTC, ZoneInfo("America/Detroit"), ZoneInfo("Pacific/Chatham"),
                       ZoneInfo("Asia/Kolkata"), timezone(timedelta(hours=-12))]
MOMENTS = st.datetimes(min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1),
                       timezones=st.sampled_from(ZONES))
WINDOWS = st.dictionaries(
    st.one_of(st.sampled_from(["five_hour", "seven_day", "seven_day_opus", "overage"]),
              st.text(max_size=8)),
    st.tuples(st.floats(), st.datetimes(min_value=datetime(2026, 12, 8, 12, 1),
                                        max_value=datetime(2027, 1, 12), timezones=st.just(UTC))),
    max_size=3)


# -- the text readers ---------------------------------------------------------------------

@FUZZ
@given(text=TEXTS, row=st.one_of(st.none(), values(LIMIT_ROW), values(OLD_ROW)),
       windows=WINDOWS, local=st.sampled_from(ZONES), said=st.one_of(st.none(), MOMENTS))
# each raised once: OverflowError, OverflowError, OverflowError (fromtimestamp), OverflowError
# (float of the int), IsADirectoryError (ZoneInfo of a folder of zones)
@example(text="", row={**LIMIT_ROW, "apiErrorStatus": float("inf")}, windows={}, local=UTC,
         said=None)
@example(text="", row={**LIMIT_ROW, "apiErrorStatus": 10**400}, windows={}, local=UTC, said=None)
@example(text="", row={**LIMIT_ROW, "apiErrorParams": {"rate_limit_info": {"resetsAt": 1e300}}},
         windows={}, local=UTC, said=None)
@example(text="", row={**LIMIT_ROW, "apiErrorParams": {"rate_limit_info": {
    "resetsAt": 10**400}}}, windows={}, local=UTC, said=None)
@example(text="You've hit your limit · resets 2:12am (America)", row=None, windows={},
         local=UTC, said=None)
def test_the_judge_reads_anything(text: str, row: Any, windows: dict[str, Any], local: tzinfo,
                                  said: datetime | None) -> None:
    error = api_error_row(row) if isinstance(row, dict) else None
    match = judge(text, row=error, windows=windows, now=NOW, local=local,
                  default_reset=FIVE_HOURS, said_at=said)
    assert match.limit in (True, False)
    detect(text, now=NOW, local=local, said_at=said)


@FUZZ
@given(text=st.one_of(TEXTS, st.text(alphabet="0123456789:apm ()ADecinhours/_UTC,.")),
       now=MOMENTS, local=st.sampled_from(ZONES))
@example(text="2:12am (America)", now=NOW, local=UTC)  # raised IsADirectoryError
@example(text="Jan 1, 12am (Etc)", now=NOW, local=UTC)
def test_parse_reset_reads_anything(text: str, now: datetime, local: tzinfo) -> None:
    instant, how = parse_reset(text, now=now, local=local)
    assert isinstance(how, str) and (instant is None or instant.tzinfo is not None)


TEXT_READERS: list[tuple[str, Callable[[str], object]]] = [
    ("normalise", normalise),
    ("pane_text", lambda text: pane_text(text, {"a line"})),
    ("last_resume_hint", last_resume_hint),
    ("parse_row", parse_row),
    ("parse_panes", parse_panes),
    ("parse_captures", parse_captures),
    ("cursor_line", cursor_line),
]


@pytest.mark.parametrize(("name", "read"), TEXT_READERS, ids=[r[0] for r in TEXT_READERS])
@FUZZ
@given(text=st.one_of(TEXTS, st.text(), st.sampled_from(
    [PANE, PANE_ROW, PANE_ROW.replace("4242", "9" * 5000), f"{PANE_ROW}\n{PANE_ROW}\x00",
     "|~rcl-capture~|%1|~rcl-capture~|" * 3, "\x1b]" * 500, "claude -x " * 100])),
       cut=st.integers(0, 200))
def test_text_readers_read_anything(name: str, read: Callable[[str], object], text: str,
                                    cut: int) -> None:
    read(text)
    read(text[cut:] + text[:cut])


@FUZZ
@given(raw=st.one_of(st.binary(), spoiled(STAT), st.sampled_from(
    [b"", b")", b"(", b"1 (a) S", STAT.replace(b"4200", b"9" * 5000), b"1 ((x)) ) " * 30])))
def test_proc_stat_reads_anything(raw: bytes) -> None:
    found = parse_stat(4242, raw)
    assert found is None or found.pid == 4242


# -- the JSON readers, on parsed values -------------------------------------------------------

def _judged_row(row: Any) -> object:
    error = api_error_row(row)
    if error is not None:
        judge(error.text, row=error, windows={}, now=NOW, local=UTC, default_reset=FIVE_HOURS)
    return error


def _edited(edit: Callable[[dict[str, Any], SignalCommands, Any], object], value: Any) -> object:
    """The hands' reading of a settings document they edit: a shape they cannot edit is
    a ShapeError, which their caller turns into the action's failure."""
    if not isinstance(value, dict):
        return None
    with contextlib.suppress(ShapeError):
        return edit(value, COMMANDS, lambda _account: "theirs")
    return None


VALUE_READERS: dict[str, tuple[Any, Callable[[Any], object]]] = {
    "api_error_row, judged": (LIMIT_ROW, lambda v: _judged_row(v) if isinstance(v, dict)
                              else None),
    "last_turn_cut": ([USER_ROW, LIMIT_ROW], lambda v: last_turn_cut(
        [r for r in v if isinstance(r, dict)]) if isinstance(v, list) else None),
    "parse_event": (EVENT, lambda v: parse_event(Path("/s/events/1.json"),
                                                 v if isinstance(v, dict) else None)),
    "state_of": (SETTINGS, lambda v: (state_of(True, v, COMMANDS), state_of(False, v, None))),
    "has_hook": (SETTINGS, lambda v: has_hook(v, "Bash", "/g")),
    "put_in": (SETTINGS, lambda v: _edited(put_in, v)),
    "take_out": (SETTINGS, lambda v: _edited(take_out, v)),
    "parse_usage": (USAGE_ANSWER, parse_usage),
}
"""Readers of a parsed document (sample, reader): a transcript row, a hook event, a
settings document (and the hands' edits of it), the usage endpoint's answer."""


@settings(FUZZ, max_examples=3000 if LONG else 300)
@given(case=st.sampled_from(sorted(VALUE_READERS)).flatmap(
    lambda name: st.tuples(st.just(name), values(VALUE_READERS[name][0]))))
# each raised once: TypeError (a float is no list of hooks), the same, ValueError (shlex's
# unclosed quote), the same
@example(case=("has_hook", {"hooks": {"PreToolUse": [{"matcher": "Bash",
                                                       "hooks": float("nan")}]}}))
@example(case=("put_in", {"hooks": {"StopFailure": [{"hooks": float("nan")}]}}))
@example(case=("put_in", {"statusLine": {"command": f"{COMMANDS.status_line} -- 'mine"}}))
@example(case=("take_out", {"statusLine": {"command": f"{COMMANDS.status_line} -- 'mine"}}))
def test_value_readers_read_anything(case: tuple[str, Any]) -> None:
    name, value = case
    VALUE_READERS[name][1](value)


@FUZZ
@given(first=values(USAGE_ANSWER), then=values(USAGE_ANSWER),
       minutes=st.integers(-10, 600))
@example(first={"five_hour": {"utilization": 0}},  # raised OverflowError (timedelta)
         then={"five_hour": {"utilization": 5e-324}}, minutes=5)
def test_two_usage_answers_make_a_forecast(first: Any, then: Any, minutes: int) -> None:
    """Two answers of the endpoint, read ``minutes`` apart: the burn rate between them
    and when the window runs out."""
    earlier, later = NOW - timedelta(minutes=minutes), NOW
    readings = [(earlier, parse_usage(first)), (later, parse_usage(then))]
    history = tuple((when, tuple((w.name, w.used) for w in windows))
                    for when, windows in readings)
    record = UsageRecord("a", later, "usage endpoint", readings[1][1], "", None, history)
    room = rooms(["a"], {"a": record}, {}, {}, NOW)["a"]
    room.words()


# -- the file readers, on real files ----------------------------------------------------------

@dataclass
class Place:
    """One temp world for every file reader: a desired state with two homes, a state dir
    with its signals folder, and a socket that answers whatever it is told."""

    root: Path
    desired: DesiredState
    state: StateDir
    work: Path
    project: Path
    endpoint: Endpoint

    @property
    def transcript(self) -> Path:
        return transcript_dir(self.work, CWD) / f"{SID}.jsonl"

    def put(self, path: Path, data: bytes) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data.replace(b"@HOME@", home_key(self.work).encode()).replace(
            b"@TRANSCRIPT@", str(self.transcript).encode()))
        return path


class Endpoint:
    """A loopback socket that answers every request with ``answer``'s bytes, whatever
    they are (a valid HTTP answer or not), then closes; ``@ECHO@`` in it is the request's
    own lines, last first (its token on the first line)."""

    def __init__(self) -> None:
        self.answer = b""
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/api/oauth/usage"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            with client, contextlib.suppress(OSError):
                asked = b""
                while b"\r\n\r\n" not in asked:
                    chunk = client.recv(4096)
                    if not chunk:
                        break
                    asked += chunk
                echo = b"\r\n".join(reversed(asked.strip().split(b"\r\n")))
                client.sendall(self.answer.replace(b"@ECHO@", echo + b"\r\n"))
                client.shutdown(socket.SHUT_WR)

    def close(self) -> None:
        self.server.close()


@pytest.fixture(scope="module")
def place(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Place]:
    root = tmp_path_factory.mktemp("fuzz")
    home = root / "home"
    desired = load_text(root / "desired.yaml", desired_yaml(), home=home)
    for account in desired.accounts:
        account.home.mkdir(parents=True)
    state = StateDir(ensure_private_dir(root / "state"))
    endpoint = Endpoint()
    try:
        yield Place(root, desired, state, desired.account("work").home, root / "project",
                    endpoint)
    finally:
        endpoint.close()


def _session_file(place: Place, data: bytes) -> object:
    place.put(sessions_dir(place.work) / "4242.json", data)
    _registry._load_once.cache_clear()
    return read_registry([place.work], alive=lambda pid: pid % 2 == 0)


def _cut_turn(place: Place, data: bytes) -> object:
    place.put(place.transcript, data)
    _turns._CUT.clear()
    return cut_marker(place.work, CWD, SID)


def _transcript_evidence(place: Place, data: bytes) -> object:
    """The failover's reading of a transcript: every API-error row, judged as the wing
    judges it, and the lines of rows before the launch."""
    place.put(place.transcript, data)
    _evidence._ERROR_ROWS.clear()
    claude = ClaudeFact(4242, 1, ("claude",), place.work, "work", SID, "idle", CWD)
    pane = PaneFact("api", 0, 0, 0, "%3", 4200, CWD, claude=claude)
    found, before = transcript_evidence(place.desired, pane, NOW - timedelta(minutes=2))
    for evidence in found:
        judge(evidence.text, row=evidence.row, windows={}, now=NOW, local=UTC,
              default_reset=FIVE_HOURS, said_at=evidence.said_at)
    return found, before


def _project_settings(place: Place, data: bytes) -> object:
    place.put(place.project / ".claude" / "settings.json", data)
    return observe_settings(place.project, "Bash", "/g")


def _home_file(name: str) -> Callable[[Place, bytes], object]:
    def read(place: Place, data: bytes) -> object:
        place.put(place.work / name, data)
        _accounts._load.cache_clear()
        return observe_account("work", place.work, COMMANDS, {})
    return read


def _credentials(place: Place, data: bytes) -> object:
    place.put(place.work / ".credentials.json", data)
    poller = UsagePoller(place.root, lambda _: None, NOW.timestamp)
    place.endpoint.answer = _http(_dumps(USAGE_ANSWER))
    return poller.read(Target("work", place.work), place.endpoint.url, NOW, None)


def _hook_spool(place: Place, data: bytes, rows: bytes = _dumps(LIMIT_ROW)) -> object:
    """The service's reading of the spool: every event file, the row each one reports
    (from a real transcript, ``rows``), and the words judged."""
    events = place.state.root / "signals" / "events"
    shutil.rmtree(place.state.root / "signals", ignore_errors=True)
    ensure_private_dir(events)
    place.put(events / "1765195000000000000-1.json", data)
    place.put(place.transcript, rows)
    with mock.patch.object(_evidence, "ROW_WAIT", 0.0):
        found, read = hook_evidence(place.state, place.desired)
    for evidence in found:
        judge(evidence.text, row=evidence.row, windows={}, now=NOW, local=UTC,
              default_reset=FIVE_HOURS, said_at=evidence.said_at)
    SignalDir(place.state.root).consume_events(read)
    return found


def _status_spool(place: Place, data: bytes) -> object:
    """A status-line snapshot, as the failover reads it: the windows, then the verdict
    they give with no words."""
    folder = place.state.root / "signals" / "status"
    shutil.rmtree(folder, ignore_errors=True)
    ensure_private_dir(folder / home_key(place.work))
    place.put(folder / home_key(place.work) / f"{SID}.json", data)
    windows = usage(place.desired, place.state, "work", NOW)
    return windows, judge("", row=None, windows=windows, now=NOW, local=UTC,
                          default_reset=FIVE_HOURS)


def _http(body: bytes, status: int = 200, headers: bytes = b"") -> bytes:
    return (b"HTTP/1.1 %d X\r\nContent-Type: application/json\r\n%s\r\n" % (status, headers)
            + body)


def _usage_answer(place: Place, data: bytes) -> object:
    """The usage endpoint's whole answer, status line and headers included, read by the
    poller exactly as the service reads it (token, request, record)."""
    place.put(place.work / ".credentials.json", _dumps(CREDENTIALS))
    place.endpoint.answer = data
    poller = UsagePoller(place.root, lambda _: None, NOW.timestamp)
    return poller.read(Target("work", place.work), place.endpoint.url, NOW, None)


@dataclass(frozen=True)
class FileReader:
    read: Callable[[Place, bytes], object]
    contents: st.SearchStrategy[bytes]
    limit: int | None
    """The most it reads of a file, None for all of it."""


SESSIONS, TRANSCRIPT, EVIDENCE = ("sessions/<pid>.json", "transcript (observe)",
                                  "transcript (failover)")
HOOK, STATUS_LINE = "hook spool", "status-line spool"
FILE_READERS: dict[str, FileReader] = {
    SESSIONS: FileReader(_session_file, file_bytes(SESSION_FILE), 1 << 20),
    TRANSCRIPT: FileReader(_cut_turn, lines_of(LIMIT_ROW, OLD_ROW, USER_ROW), 64 << 10),
    EVIDENCE: FileReader(_transcript_evidence, lines_of(LIMIT_ROW, OLD_ROW, USER_ROW),
                         256 << 10),
    "project settings.json": FileReader(_project_settings, file_bytes(SETTINGS), 4 << 20),
    "home settings.json": FileReader(_home_file("settings.json"), file_bytes(SETTINGS),
                                     16 << 20),
    ".claude.json": FileReader(_home_file(".claude.json"), file_bytes(CLAUDE_JSON), 16 << 20),
    ".credentials.json": FileReader(_credentials, file_bytes(CREDENTIALS), 1 << 20),
    HOOK: FileReader(_hook_spool, file_bytes(EVENT), (1 << 20) + 4096),
    STATUS_LINE: FileReader(_status_spool, file_bytes(STATUS), 64 << 10),
}
"""Each reader of a file of Claude's (or of what its hook and status line spool), by the
function the service calls, on a real file."""
NO_UUID = {k: v for k, v in LIMIT_ROW.items() if k != "uuid"}


@settings(FILES, max_examples=3000 if LONG else 300)
@given(case=st.sampled_from(sorted(FILE_READERS)).flatmap(
    lambda name: st.tuples(st.just(name), FILE_READERS[name].contents)))
# each but the hook's raised once: TypeError (a time without a zone against one with it),
# OverflowError (a reset computed past 9999), UnicodeEncodeError (a row's lone surrogate,
# hashed), OverflowError twice (an int no float holds), OverflowError (the same, expiresAt)
@example(case=(EVIDENCE, _dumps({**LIMIT_ROW, "timestamp": "2026-12-08T11:59:00"})))
@example(case=(EVIDENCE, _dumps({**LIMIT_ROW, "timestamp": "9999-12-31T23:59:59+00:00"})))
@example(case=(EVIDENCE, _dumps({**NO_UUID, "message": {"content": "\ud800"}})))
@example(case=(STATUS_LINE, _dumps({"rate_limits": {"five_hour": {
    "used_percentage": 100, "resets_at": 10**400}}})))
@example(case=(STATUS_LINE, _dumps({"rate_limits": {"five_hour": {
    "used_percentage": 10**400, "resets_at": 1765212720}}})))
@example(case=(HOOK, _dumps({**EVENT, "time": 10**400})))
@example(case=(".credentials.json", _dumps({"claudeAiOauth": {"accessToken": "t",
                                                               "expiresAt": 10**400}})))
def test_file_readers_read_anything(place: Place, case: tuple[str, bytes]) -> None:
    name, data = case
    FILE_READERS[name].read(place, data)


@FILES
@given(rows=lines_of(LIMIT_ROW, OLD_ROW, USER_ROW))
@example(rows=_dumps({**LIMIT_ROW, "timestamp": "2026-12-08T11:59:00"}))  # raised TypeError
@example(rows=_dumps({**LIMIT_ROW, "timestamp": "9999-12-31T23:59:59+00:00"}))
def test_a_hook_event_joins_any_transcript(place: Place, rows: bytes) -> None:
    """The event names its session's transcript: the row it reports is read from it."""
    _hook_spool(place, _dumps(EVENT), rows)


@st.composite
def http_answers(draw: st.DrawFn) -> bytes:
    """Anything at the usage URL: a JSON answer with any status and headers (a lying
    length, a broken chunk, a retry-after of any kind), or bytes that are not HTTP."""
    body = draw(st.one_of(values(USAGE_ANSWER).map(_dumps), spoiled(_dumps(USAGE_ANSWER)),
                          st.binary(max_size=100), st.just(b"[" * 100_000)))
    status = draw(st.sampled_from([200, 200, 204, 301, 400, 401, 403, 404, 429, 500, 999]))
    header = draw(st.one_of(st.just(b""), st.sampled_from([
        b"Content-Length: 999999\r\n", b"Content-Length: 1\r\n", b"Content-Length: x\r\n",
        b"Transfer-Encoding: chunked\r\n", b"Retry-After: 1e400\r\n", b"Retry-After: nan\r\n",
        b"Retry-After: Mon, 01 Jan 0001 00:00:00 +1400\r\n", b"Location: http://x/\r\n",
        b"X: " + b"y" * 70_000 + b"\r\n", b"X: y\r\n" * 101]),
        st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255), max_size=40).map(
            lambda t: b"Retry-After: " + t.encode("latin-1") + b"\r\n")))
    return draw(st.one_of(st.just(_http(body, status, header)), st.binary(max_size=200),
                          spoiled(_http(_dumps(USAGE_ANSWER))),
                          st.just(b"@ECHO@"), st.just(_http(b"@ECHO@"))))


@settings(FILES, max_examples=1000 if LONG else 100)
@given(answer=http_answers())
@example(answer=b"HELLO\r\n\r\n{}")  # raised http.client.BadStatusLine
@example(answer=_http(b"[" * 100_000))  # raised RecursionError
@example(answer=b"@ECHO@")  # the token in the status line: never in the note
def test_the_usage_endpoints_answer_is_read_whatever_it_is(place: Place, answer: bytes) -> None:
    record = _usage_answer(place, answer)
    assert isinstance(record, UsageRecord)
    assert CREDENTIALS["claudeAiOauth"]["accessToken"] not in repr(record)


# -- memory: reading N bytes costs a small multiple of N (of the bound, for a bounded reader)

FACTOR = 32
"""Python's objects are larger than the JSON that names them: ``{},`` (3 bytes) is a dict
of 64 bytes and its slot in a list; the worst shapes below cost about 26 times their size."""
SLACK = 256 << 10
"""What a reader costs on an empty input is under 100 KiB (the usage answer's HTTP reply)."""
SIZE = 32 << 10
"""N for every reader and shape: SLACK is small beside FACTOR * N."""
HUGE = 8 << 20
"""A file this large, read by a reader bounded below it, costs only its bound."""


def _shapes(size: int) -> dict[str, bytes]:
    count = size // 3
    return {
        "empty objects": b'{"a":[' + b"{}," * count + b"{}]}",
        "empty objects, one a row": b"{}\n" * count,
        "rows of objects": (b'{"a":[' + b"[]," * (size // 80) + b"1]}\n") * 26,
        "one long string": b'{"message":{"content":"' + b"x" * size + b'"}}',
        "numbers": b"[" + b"1," * (size // 2) + b"1]",
        "newlines": b"\n" * size,
        "no newline": b"x" * size,
        "brackets": b"[" * size,
        "junk": os.urandom(size),
    }


def peak(read: Callable[[], object]) -> int:
    """The most memory allocated at once while ``read`` ran, beyond what was there."""
    gc.collect()
    tracemalloc.start()
    try:
        read()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("name", sorted(FILE_READERS))
def test_file_readers_use_memory_in_proportion_to_what_they_read(place: Place,
                                                                 name: str) -> None:
    read = FILE_READERS[name].read
    for shape, data in _shapes(SIZE).items():
        read(place, data[:4096])  # warm: byte code, compiled patterns
        used = peak(lambda: read(place, data))  # noqa: B023  (called at once)
        assert used <= FACTOR * len(data) + SLACK, (shape, used, len(data))


BOUNDED = sorted(name for name, reader in FILE_READERS.items()
                 if reader.limit is not None and reader.limit < HUGE)


@pytest.mark.parametrize("name", BOUNDED)
def test_a_bounded_reader_costs_its_bound_however_large_the_file(place: Place,
                                                                 name: str) -> None:
    reader = FILE_READERS[name]
    assert reader.limit is not None
    for shape, data in _shapes(HUGE).items():
        if shape in ("empty objects, one a row", "one long string", "newlines", "junk"):
            reader.read(place, data[:4096])
            used = peak(lambda: reader.read(place, data))  # noqa: B023
            assert used <= FACTOR * reader.limit + SLACK, (shape, used, reader.limit)


def test_the_usage_endpoints_answer_is_read_to_its_bound(place: Place) -> None:
    for shape, data in _shapes(HUGE).items():
        answer = _http(data)
        _usage_answer(place, answer[:4096])
        used = peak(lambda: _usage_answer(place, answer))  # noqa: B023
        assert used <= FACTOR * (64 << 10) + SLACK, (shape, used)


def _latin(read: Callable[[str], object]) -> Callable[[bytes], object]:
    return lambda data: read(data.decode("latin-1"))


BYTE_READERS: dict[str, Callable[[bytes], object]] = {
    **{name: _latin(read) for name, read in TEXT_READERS},
    "judge": _latin(lambda text: judge(text, row=None, windows={}, now=NOW, local=UTC,
                                       default_reset=FIVE_HOURS)),
    "transcript_rows": transcript_rows,
    "parse_stat": lambda data: parse_stat(1, data),
}


@pytest.mark.parametrize("name", sorted(BYTE_READERS))
def test_text_readers_use_memory_in_proportion_to_what_they_read(name: str) -> None:
    read = BYTE_READERS[name]
    shapes = {**_shapes(SIZE),
              "a limit's long tail": b"You've hit your limit" + b" \xb7 esc" * (SIZE // 6),
              "heads": b"You've hit your " * (SIZE // 16), "escapes": b"\x1b]" * (SIZE // 2),
              "lowercase lines": b"a\n" * (SIZE // 2)}
    for shape, data in shapes.items():
        read(data[:4096])  # warm: byte code, compiled patterns
        used = peak(lambda: read(data))  # noqa: B023
        assert used <= FACTOR * len(data) + SLACK, (shape, used, len(data))
