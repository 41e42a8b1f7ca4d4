"""``readers_linear``: every reader of Claude's files and inputs on an adversarial input of
n bytes and of 8n, timed interleaved in the same run: ``time(8n) / (8 * time(n))`` is about
1 for a reader that is linear, 8 for one that is quadratic (a regex that backtracks, a
string built again for every line). Each reader's ratio is printed; the goal is the worst
one's. A reader bounded by a read limit (a transcript's tail, a status-line snapshot) costs
no more at 8n than at its bound, so its ratio falls below 1.

The inputs: many near-matches of the limit grammar, runs of unended escapes and of lines
that join, a limit statement with thousands of segments, a transcript of n bytes, a line
without a newline, JSON nested as deep as the ``json`` module reads, tmux output of many
rows, a ``/proc/<pid>/stat`` whose command name is all parentheses, a settings file with
thousands of hooks. The usage endpoint's answer is read to 64 KiB at most
(``usage._poller.MAX_BODY``): its parse, ``parse_usage``, is timed here on n bytes.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench._harness import Timing

NOW = datetime(2026, 12, 8, 12, tzinfo=UTC)
SID = "11111111-2222-4333-8444-555555555555"
CWD = "/h/src/api"
LIMIT_ROW: dict[str, Any] = {
    "type": "assistant", "isApiErrorMessage": True, "error": "rate_limit",
    "apiErrorStatus": 429, "apiError": "usage_limit_reached",
    "apiErrorParams": {"rate_limit_info": {"resetsAt": 1765170000,
                                           "rateLimitType": "five_hour"}},
    "message": {"content": [{"type": "text",
                             "text": "You've hit your 5-hour limit · resets 2:12am (UTC)"}]},
    "uuid": "0b5c1e2a-1111-4222-8333-444455556666", "timestamp": "2026-12-08T11:59:00.000Z"}
USER_ROW: dict[str, Any] = {"type": "user", "uuid": "u-1", "timestamp": "2026-12-08T11:58:00Z",
                            "message": {"role": "user", "content": "go on " * 20}}
PANE_ROW = "|~|".join(["%3", "", "/dev/pts/4", "", "0", "1", "4242", "0", "0", "0", "0", "0",
                       "0", "2", "7", "api", "/h/src/api"])
MARK = "|~rcl-capture~|"
GROWTH = 8
"""The big input is this many times the small one."""

Read = Callable[[], object]
Prepare = Callable[[int, Path], Read]
"""Given n and a private temp dir: the input made (untimed), and the read to time."""


def _times(text: str, n: int) -> str:
    """``text`` repeated to about n characters."""
    return text * max(1, n // len(text))


def _judge(make: Callable[[int], str]) -> Prepare:
    def prepare(n: int, _dir: Path) -> Read:
        from reconciler.failover._judge import judge

        text = make(n)
        return lambda: judge(text, row=None, windows={}, now=NOW, local=UTC,
                             default_reset=timedelta(hours=5))
    return prepare


def _text(reader: Callable[[str], object], make: Callable[[int], str]) -> Prepare:
    def prepare(n: int, _dir: Path) -> Read:
        text = make(n)
        return lambda: reader(text)
    return prepare


def _parse_reset(n: int, _dir: Path) -> Read:
    from reconciler.failover._reset import parse_reset

    text = "in " + "1" * n + " 12:" * 3
    return lambda: parse_reset(text, now=NOW, local=UTC)


def _pane_text(n: int, _dir: Path) -> Read:
    from reconciler.failover._evidence import pane_text

    screen = ("\u276f draft\n\u2500\u2500\u2500\u2500\u2500\u2500\u2500\u2500\n✻ 5-hour limit "
              "reached · retrying in 5m (2:12am) · attempt 3/10\nsome output\n")
    text = "CLAUDE_CONFIG_DIR=/h/.claude-work claude\n" + _times(screen, n)
    return lambda: pane_text(text, {"some output"})


def _transcript(make: Callable[[int], bytes]) -> Prepare:
    def prepare(n: int, _dir: Path) -> Read:
        from reconciler.claudecode import transcript_rows

        data = make(n)
        return lambda: transcript_rows(data)
    return prepare


def _rows(n: int) -> bytes:
    rows = (json.dumps(USER_ROW) + "\n" + json.dumps(LIMIT_ROW) + "\n").encode()
    return rows * max(1, n // len(rows))


def _last_turn_cut(n: int, _dir: Path) -> Read:
    """Meta rows after the cut: every one is looked at before the cut is found."""
    from reconciler.claudecode import last_turn_cut

    meta = {"type": "user", "isMeta": True, "message": {"content": "x"}}
    rows = [LIMIT_ROW] + [meta] * max(1, n // len(json.dumps(meta)))
    return lambda: last_turn_cut(rows)


def _parse_stat(n: int, _dir: Path) -> Read:
    from reconciler.observe._procs import parse_stat

    raw = b"4242 (" + b") (" * (n // 3) + b") S" + b" 1" * 50 + b"\n"
    return lambda: parse_stat(4242, raw)


def _parse_usage(n: int, _dir: Path) -> Read:
    from reconciler.usage import parse_usage

    window = {"utilization": 42.0, "resets_at": "2026-12-08T14:00:00Z"}
    count = max(1, n // len(json.dumps({"seven_day_x": window})))
    body = json.loads(json.dumps({f"seven_day_{i}": window for i in range(count)}))
    return lambda: parse_usage(body)


def _state_of(n: int, _dir: Path) -> Read:
    from reconciler.signals import SignalCommands, state_of

    commands = SignalCommands("/s/bin/stop-failure", "/s/bin/statusline")
    entry = {"hooks": [{"type": "command", "command": "/other/hook"}]}
    count = max(1, n // len(json.dumps(entry)))
    settings = {"hooks": {"StopFailure": [entry] * count},
                "statusLine": {"type": "command", "command": "/s/bin/statusline"}}
    return lambda: state_of(True, settings, commands)


def _hooks_json(n: int) -> bytes:
    entry = {"matcher": "Edit", "hooks": [{"type": "command", "command": "/g"}]}
    count = max(1, n // len(json.dumps(entry)))
    return json.dumps({"hooks": {"PreToolUse": [entry] * count}}).encode()


def _observe_settings(n: int, folder: Path) -> Read:
    from reconciler.observe._settings import observe_settings

    (folder / ".claude").mkdir(exist_ok=True)
    (folder / ".claude" / "settings.json").write_bytes(_hooks_json(n))
    return lambda: observe_settings(folder, "Bash", "/g")


def _observe_account(n: int, folder: Path) -> Read:
    from reconciler.observe import _accounts
    from reconciler.signals import SignalCommands

    project = {"hasTrustDialogAccepted": True, "allowedTools": []}
    count = max(1, n // len(json.dumps({"/h/src/project-0000": project})))
    (folder / ".claude.json").write_text(json.dumps(
        {"hasCompletedOnboarding": True, "projects": {f"/h/src/p-{i}": project
                                                      for i in range(count)}}))
    (folder / "settings.json").write_bytes(_hooks_json(n))
    commands = SignalCommands("/s/bin/stop-failure", "/s/bin/statusline")

    def read() -> object:
        _accounts._load.cache_clear()  # read again: the cache would answer from memory
        return _accounts.observe_account("work", folder, commands, {})
    return read


def _read_registry(n: int, folder: Path) -> Read:
    from reconciler.observe import _registry

    sessions = folder / "sessions"
    sessions.mkdir(exist_ok=True)
    (sessions / "4242.json").write_text(json.dumps(
        {"pid": 4242, "sessionId": SID, "status": "idle", "cwd": "/h/" + "x" * n}))

    def read() -> object:
        _registry._load_once.cache_clear()
        return _registry.read_registry([folder], alive=lambda _pid: True)
    return read


def _cut_marker(n: int, folder: Path) -> Read:
    from reconciler.claudecode import SessionId, transcript_dir
    from reconciler.observe import _turns

    path = transcript_dir(folder, CWD) / f"{SID}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_rows(n))

    def read() -> object:
        _turns._CUT.clear()
        return _turns.cut_marker(folder, CWD, SessionId(SID))
    return read


def _signal_dir(folder: Path) -> Any:
    from reconciler.signals import SignalDir
    from reconciler.statedir import ensure_private_dir

    state = ensure_private_dir(folder / "state")
    return SignalDir(state)


def _read_events(n: int, folder: Path) -> Read:
    from reconciler.signals import parse_event
    from reconciler.statedir import ensure_private_dir

    spool = _signal_dir(folder)
    events = ensure_private_dir(spool.events_dir())
    words = _times("You've hit your 5-hour limit · resets 2:12am (UTC)\n", n)
    (events / "1765195000000000000-1.json").write_text(json.dumps(
        {"home": "-h-.claude-work", "time": 1765195000, "event": {
            "session_id": SID, "cwd": CWD, "error": "rate_limit",
            "last_assistant_message": words}}))
    return lambda: [parse_event(path, raw) for path, raw in spool.read_events()]


def _read_usage(n: int, folder: Path) -> Read:
    from reconciler.statedir import ensure_private_dir

    spool = _signal_dir(folder)
    status = ensure_private_dir(spool.root / "signals" / "status" / "-h-.claude-work")
    window = {"used_percentage": 41.5, "resets_at": 1765212720}
    count = max(1, n // len(json.dumps({"seven_day_x": window})))
    (status / f"{SID}.json").write_text(json.dumps(
        {"session_id": SID, "rate_limits": {f"w{i}": window for i in range(count)}}))
    return lambda: spool.read_usage("-h-.claude-work")


def _token_of(n: int, folder: Path) -> Read:
    from reconciler.usage import token_of

    (folder / ".credentials.json").write_text(json.dumps(
        {"claudeAiOauth": {"accessToken": "t", "expiresAt": 1.9e12, "scopes": ["x"] * (n // 5)}}))
    return lambda: token_of(folder, NOW.timestamp())


def _panes(make: Callable[[int], str], which: str) -> Prepare:
    def prepare(n: int, _dir: Path) -> Read:
        from reconciler.observe import _panes

        reader = getattr(_panes, which)
        text = make(n)
        return lambda: reader(text)
    return prepare


def _last_resume_hint(make: Callable[[int], str]) -> Prepare:
    def prepare(n: int, _dir: Path) -> Read:
        from reconciler.claudecode import last_resume_hint

        text = make(n)
        return lambda: last_resume_hint(text)
    return prepare


def _normalise(make: Callable[[int], str]) -> Prepare:
    def prepare(n: int, _dir: Path) -> Read:
        from reconciler.failover._detect import normalise

        text = make(n)
        return lambda: normalise(text)
    return prepare


CASES: list[tuple[str, Prepare]] = [
    ("judge: heads repeated", _judge(lambda n: _times("You've hit your ", n))),
    ("judge: qualifiers", _judge(
        lambda n: "You've hit your " + _times("weekly ", n))),
    ("judge: n/6 segments", _judge(
        lambda n: "You've hit your 5-hour limit" + _times(" · esc", n))),
    ("judge: resets after resets", _judge(lambda n: _times("Limit reached · resets ", n))),
    ("judge: unended escapes", _judge(lambda n: _times("\x1b]", n))),
    ("judge: lines that join", _judge(lambda n: _times("a\n", n))),
    ("judge: empty lines", _judge(lambda n: "\n" * n)),
    ("judge: menus", _judge(lambda n: _times("What do you want to do?\n", n))),
    ("judge: epochs", _judge(lambda n: _times("Claude AI usage limit reached|", n))),
    ("judge: one long line", _judge(lambda n: "You've hit your limit · " + "x" * n)),
    ("normalise: unended escapes", _normalise(lambda n: _times("\x1b]8;;", n))),
    ("normalise: lines that join", _normalise(lambda n: _times("resets\n", n))),
    ("parse_reset: digits", _parse_reset),
    ("pane_text", _pane_text),
    ("resume_hint: options", _last_resume_hint(lambda n: _times("claude -x y ", n))),
    ("resume_hint: resumes", _last_resume_hint(lambda n: _times("claude --resume ", n))),
    ("transcript_rows: rows", _transcript(_rows)),
    ("transcript_rows: one line", _transcript(lambda n: b'{"a":"' + b"x" * n + b'"}')),
    ("transcript_rows: 990 deep", _transcript(
        lambda n: (b'{"a":' * 990 + b"1" + b"}" * 990 + b"\n") * max(1, n // 6000))),
    ("transcript_rows: brackets", _transcript(lambda n: b"[" * n)),
    ("last_turn_cut", _last_turn_cut),
    ("parse_panes", _panes(lambda n: _times(PANE_ROW + "\n", n), "parse_panes")),
    ("parse_row: a long line", _panes(lambda n: PANE_ROW + "x" * n, "parse_row")),
    ("parse_captures", _panes(lambda n: _times(f"{MARK}%1{MARK}\nsome text\n", n),
                              "parse_captures")),
    ("parse_stat: parentheses", _parse_stat),
    ("parse_usage", _parse_usage),
    ("state_of: hooks", _state_of),
    ("observe_settings: hooks", _observe_settings),
    ("observe_account: projects", _observe_account),
    ("read_registry", _read_registry),
    ("cut_marker (64 KiB tail)", _cut_marker),
    ("read_events, parse_event", _read_events),
    ("read_usage (64 KiB bound)", _read_usage),
    ("token_of", _token_of),
]


def _sample(read: Read, number: int) -> float:
    started = time.perf_counter()
    for _ in range(number):
        read()
    return (time.perf_counter() - started) / number


def ratio_of(prepare: Prepare, n: int, runs: int) -> tuple[float, Timing, Timing]:
    """(time(8n) / (8 * time(n)), the samples at n, the samples at 8n); a fast reader is
    repeated within a sample, the same number of times at both sizes."""
    with tempfile.TemporaryDirectory(prefix="readers-") as tmp:
        small_dir, big_dir = Path(tmp, "n"), Path(tmp, "8n")
        small_dir.mkdir()
        big_dir.mkdir()
        small, big = prepare(n, small_dir), prepare(GROWTH * n, big_dir)
        _sample(small, 1)  # warm: byte code, compiled patterns
        _sample(big, 1)
        once = _sample(small, 1)
        number = max(1, int(0.005 / max(once, 1e-7)))
        at_n, at_8n = Timing(), Timing()
        for _ in range(runs):  # interleaved: a busy moment weighs on both
            at_n.samples.append(_sample(small, number))
            at_8n.samples.append(_sample(big, number))
    return at_8n.median / (GROWTH * at_n.median), at_n, at_8n


def linear(n: int, runs: int) -> dict[str, Any]:
    """Every case's ratio; ``ours`` and ``floor`` are the worst case's 8n time and 8 times
    its n time, so the goal's ratio is that case's."""
    ratios: dict[str, tuple[float, Timing, Timing]] = {
        name: ratio_of(prepare, n, runs) for name, prepare in CASES}
    worst = max(ratios, key=lambda name: ratios[name][0])
    _ratio, at_n, at_8n = ratios[worst]
    out: dict[str, Any] = {
        "ours": at_8n, "floor": Timing([GROWTH * s for s in at_n.samples]),
        "worst": worst, "n_bytes": n}
    for name, (ratio, small, big) in ratios.items():
        out[name] = (f"{ratio:5.2f}  ({statistics.median(small.samples) * 1000:.2f} ms at n, "
                     f"{statistics.median(big.samples) * 1000:.2f} ms at 8n)")
    return out
