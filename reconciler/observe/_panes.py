"""tmux facts: every pane from ONE ``list-panes -a`` call, captures chained into one call.

A fact is a command and a parser (as in pyinfra): the command goes through the one
tmux module, the parsers are plain functions over its output, tested on recorded
output. A cycle never walks sessions one by one: one short ``-F`` format gives every
pane of every session, which is what libtmux's object walk costs tens of times.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from reconciler import tmux
from reconciler.observe._model import PaneFact, PaneInput, TmuxFact, TmuxStatus

SEP = "|~|"
"""Printable on purpose: without a UTF-8 locale tmux turns control characters into '_'.
The two free-text fields come quoted (``#{q:}``), so they cannot hold it unescaped."""
_NUMBERS = ("window_index", "pane_index", "pane_pid", "session_attached", "window_linked",
            "pane_in_mode", "pane_dead", "pane_input_off", "pane_synchronized", "cursor_x",
            "cursor_y")
HELD = "@reconciler-held"
"""A pane option the applier sets while it holds the pane's input (see apply/_keyboard)."""
_FIELDS = ("pane_id", "session_last_attached", "pane_tty", HELD, *_NUMBERS)
PANE_FORMAT = SEP.join(
    [*("#{%s}" % f for f in _FIELDS), "#{q:session_name}", "#{q:pane_current_path}"])  # noqa: UP031
_UNQUOTE = re.compile(r"\\(.)", re.DOTALL)
CAPTURE_MARK = "|~rcl-capture~|"
"""Between captures: pane text is anyone's, so the mark is one nobody prints by chance."""
TAIL_LINES = 50


@dataclass(frozen=True)
class PaneRow:
    """One line of ``list-panes``, parsed; the ordinal is added once all rows are known."""

    session_name: str
    window_index: int
    pane_index: int
    pane_id: str
    pane_pid: int
    cwd: str
    tty: str
    input: PaneInput


def parse_row(line: str) -> PaneRow | None:
    """A ``PANE_FORMAT`` line, or None for a line that does not parse (never guessed)."""
    parts = line.split(SEP)
    if len(parts) != len(_FIELDS) + 2:
        return None
    pane_id, last_attached, tty, held, *numbers_text, name, path = parts
    try:
        n = dict(zip(_NUMBERS, (int(x) for x in numbers_text), strict=True))
    except ValueError:
        return None
    if not pane_id.startswith("%") or not (last_attached == "" or last_attached.isdigit()):
        return None
    facts = PaneInput(
        clients=n["session_attached"], last_attached=last_attached,
        linked=bool(n["window_linked"]), mode=bool(n["pane_in_mode"]), dead=bool(n["pane_dead"]),
        input_off=bool(n["pane_input_off"]), synchronized=bool(n["pane_synchronized"]),
        held=held == "1", cursor_x=n["cursor_x"], cursor_y=n["cursor_y"])
    return PaneRow(_UNQUOTE.sub(r"\1", name), n["window_index"], n["pane_index"], pane_id,
                   n["pane_pid"], _UNQUOTE.sub(r"\1", path), tty, facts)


def parse_panes(stdout: str) -> tuple[PaneFact, ...]:
    rows = [row for line in stdout.splitlines() if (row := parse_row(line)) is not None]
    rows.sort(key=lambda r: (r.session_name, r.window_index, r.pane_index))
    panes: list[PaneFact] = []
    ordinal: dict[str, int] = {}
    for row in rows:
        n = ordinal.get(row.session_name, 0)
        ordinal[row.session_name] = n + 1
        panes.append(PaneFact(row.session_name, n, row.window_index, row.pane_index,
                              row.pane_id, row.pane_pid, row.cwd, tty=row.tty, input=row.input))
    return tuple(panes)


def observe_tmux(server: Sequence[str]) -> TmuxFact:
    """Every pane; DOWN when no server runs (sessions missing), ERROR when tmux won't say."""
    try:
        return TmuxFact(TmuxStatus.UP, parse_panes(
            tmux.run(server, "list-panes", "-a", "-F", PANE_FORMAT)))
    except tmux.TmuxServerDownError as exc:
        return TmuxFact(TmuxStatus.DOWN, error=str(exc))
    except tmux.TmuxError as exc:
        return TmuxFact(TmuxStatus.ERROR, error=str(exc))


def _marker(pane_id: str) -> list[str]:
    # The marker names the pane through #{pane_id}: display-message also runs its text
    # through strftime, where a literal "%69" would be read as a field width.
    return ["display-message", "-p", "-t", pane_id, f"{CAPTURE_MARK}#{{pane_id}}{CAPTURE_MARK}"]


def parse_captures(stdout: str) -> dict[str, str]:
    """Marker-separated captures -> pane id -> text."""
    texts: dict[str, str] = {}
    chunks = stdout.split(CAPTURE_MARK)
    for index in range(1, len(chunks) - 1, 2):
        texts[chunks[index]] = chunks[index + 1].removeprefix("\n")
    return texts


def capture_panes(server: Sequence[str], panes: Sequence[PaneFact] | Sequence[str],
                  lines: int = TAIL_LINES, *, to_cursor: bool = False,
                  whole: Sequence[PaneFact] = ()) -> dict[str, str]:
    """The last ``lines`` of many panes in one chained call; {} when tmux cannot say.

    With ``to_cursor`` each capture ends at the cursor's row with wrapped rows joined,
    so its last line is the logical command line being edited. ``whole`` panes are
    captured to their last row in the same call (a Claude's screen, for failover).
    """
    commands: list[list[str]] = []
    for pane in panes:
        pane_id = pane if isinstance(pane, str) else pane.pane_id
        end = ["-E", str(pane.input.cursor_y)] if to_cursor and not isinstance(pane, str) else []
        commands += [_marker(pane_id),
                     ["capture-pane", "-p", "-J", "-S", f"-{lines}", *end, "-t", pane_id]]
    for pane in whole:
        commands += [_marker(pane.pane_id),
                     ["capture-pane", "-p", "-J", "-S", f"-{lines}", "-t", pane.pane_id]]
    if not commands:
        return {}
    try:
        stdout = tmux.chained(server, commands)
    except tmux.TmuxError as exc:
        stdout = exc.stdout  # a pane vanished mid-chain: keep the ones before it
    texts = parse_captures(stdout)
    whole_ids = {p.pane_id for p in whole}
    return {pane_id: text.removesuffix("\n") if to_cursor and pane_id not in whole_ids
            else text.rstrip("\n") for pane_id, text in texts.items()}


def cursor_line(captured: str) -> str:
    """The logical line under the cursor from a ``to_cursor`` capture, trailing blanks off."""
    return captured.rsplit("\n", 1)[-1].rstrip()
