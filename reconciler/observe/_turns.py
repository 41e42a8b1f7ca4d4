"""How a Claude's last turn ended, from the tail of its transcript: a turn the usage
limit cut is continued when the Claude moves (see ``plan._sessions``).

Read only for Claudes that must move, and parsed again only when the transcript changed
(device, inode, size, mtime): the service asks every cycle while a move waits.
"""

from __future__ import annotations

from pathlib import Path

from reconciler.claudecode import SessionId, last_turn_cut, transcript_dir, transcript_rows
from reconciler.statedir import read_regular

TAIL_BYTES = 64 * 1024
"""The end of a transcript holds its last turn; a longer last row is not a limit row."""
_CUT: dict[tuple[int, int], tuple[tuple[int, int], str | None]] = {}
NO_TRANSCRIPT = "none"
"""``cut_marker`` of a session with no transcript (yet): nothing to resume, nothing cut."""
_CUT_MAX = 4096


def cut_marker(home: Path, cwd: str, session: SessionId) -> str | None:
    """``row:<uuid>`` of the rate-limit row that ended this session's last turn, or None
    (the turn finished, or went on after the error); ``NO_TRANSCRIPT`` without one."""
    path = transcript_dir(home, cwd) / f"{session}.jsonl"
    try:
        st = path.stat()
    except OSError:
        return NO_TRANSCRIPT
    key, identity = (st.st_dev, st.st_ino), (st.st_size, st.st_mtime_ns)
    cached = _CUT.get(key)
    if cached is not None and cached[0] == identity:
        return cached[1]
    try:
        rows = transcript_rows(read_regular(path, TAIL_BYTES, tail=True))
    except OSError:
        return None
    error = last_turn_cut(rows)
    marker = None if error is None else f"row:{error.uuid or error.timestamp}"
    if len(_CUT) >= _CUT_MAX:
        _CUT.clear()
    _CUT[key] = (identity, marker)
    return marker
