"""When a Claude that must move moves, and whether its turn is continued: a data table.

A Claude whose own account is limited moves at once (its turn is cut already); any other
move (a return, ``preempt_at``, a hand swap, drift) waits for the Claude's turn to end,
at most ``failover.move_wait``; ``swap --now`` does not wait. A cut turn is continued by
the relaunch's first message (``failover.continue``), once. No tmux, no I/O."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from _builders import NOW, SID, SID3, claude, converged, desired_yaml, load_text, pane, with_panes

from reconciler.desired import DesiredState
from reconciler.observe import Observed
from reconciler.plan import AwaitTurn, LaunchClaude, RememberSession, plan
from reconciler.statedir import ActiveRecord, LaunchRecord, LimitRecord, TurnWait

MESSAGE = "Continue from where you left off."


def limit(account: str, *, kind: str = "session", minutes: int = 60) -> LimitRecord:
    return LimitRecord(account, NOW + timedelta(minutes=minutes), kind, "test", NOW, "hook")


def world(desired: DesiredState, *, status: str = "idle", cut: str | None = None,
          limits: tuple[LimitRecord, ...] = (), wait_minutes: int | None = None,
          record: LaunchRecord | None = None, now: bool = False,
          wait_pid: int = 501) -> Observed:
    """``api/0`` runs claude pid 501 on ``personal`` while ``work`` is active."""
    moving = replace(claude(501, "personal", status=status), cut_turn=cut)
    observed = with_panes(pane("api", 1, c=moving), pane("auto-0", 3, "/h"),
                          pane("auto-1", 4, "/h"))(converged(desired))
    waits = {} if wait_minutes is None else {"api/0": TurnWait(
        "api/0", wait_pid, wait_pid * 10, (NOW - timedelta(minutes=wait_minutes)).isoformat())}
    return replace(observed, limits={lim.account: lim for lim in limits}, waits=waits,
                   records={"api/0": record} if record else {},
                   active=ActiveRecord("work", NOW.isoformat(), "command", now=now),
                   transcripts={"/h/src/api": (SID,)})


# (id, world options, what happens to api/0: "moves" / "waits" / "records a wait",
#  why it moves, the cut turn its relaunch continues ("" none))
ROWS: list[tuple[str, dict[str, Any], str, str, str]] = [
    ("idle, no limit: moves between turns, no message", {}, "moves", "turn", ""),
    ("busy, no limit, first seen: the wait is recorded", {"status": "busy"},
     "records a wait", "", ""),
    ("waiting at a permission prompt is mid-turn", {"status": "waiting"},
     "records a wait", "", ""),
    ("a Claude that does not say is not guessed idle", {"status": None},
     "records a wait", "", ""),
    ("busy, waited 5 of 10 minutes: still waits", {"status": "busy", "wait_minutes": 5},
     "waits", "", ""),
    ("busy, waited past the bound: cut and continued",
     {"status": "busy", "wait_minutes": 11}, "moves", "cut", "busy:501"),
    ("its own account is limited: busy or not, at once, continued",
     {"status": "busy", "limits": (limit("personal"),)}, "moves", "limit", "busy:501"),
    ("limited, its last turn ended in the limit row: that turn is continued",
     {"status": "idle", "cut": "row:u1", "limits": (limit("personal"),)},
     "moves", "limit", "row:u1"),
    ("limited, finished its turn: moves at once with no message",
     {"status": "idle", "limits": (limit("personal"),)}, "moves", "limit", ""),
    ("the same cut turn is never continued twice",
     {"cut": "row:u1", "limits": (limit("personal"),), "record": LaunchRecord(
         "api/0", SID, "/h/src/api", "personal", pid=400, continued="row:u1")},
     "moves", "limit", ""),
    ("a new cut after a continued one is continued",
     {"cut": "row:u2", "limits": (limit("personal"),), "record": LaunchRecord(
         "api/0", SID, "/h/src/api", "personal", pid=400, continued="row:u1")},
     "moves", "limit", "row:u2"),
    ("preempt_at is no limit: a busy Claude waits",
     {"status": "busy", "limits": (limit("personal", kind="preempt five_hour"),)},
     "records a wait", "", ""),
    ("a limit already reset (plus grace) is no reason to cut",
     {"status": "busy", "limits": (limit("personal", minutes=-10),)},
     "records a wait", "", ""),
    ("swap --now cuts and continues", {"status": "busy", "now": True}, "moves", "cut",
     "busy:501"),
    ("a wait recorded for another process does not count: this one's starts now",
     {"status": "busy", "wait_minutes": 60, "wait_pid": 400}, "records a wait", "", ""),
]


def _outcome(desired: DesiredState, observed: Observed) -> tuple[str, str, str]:
    result = plan(desired, observed)
    launch = next((a for a in result.actions if isinstance(a, LaunchClaude)
                   and a.target == "api/0"), None)
    if launch is not None:
        remember = next(a for a in result.actions if isinstance(a, RememberSession))
        assert remember.cut == launch.cut and remember.why == launch.why
        assert (launch.message is not None) == bool(launch.cut)
        return "moves", launch.why, launch.cut
    if any(isinstance(a, AwaitTurn) for a in result.actions):
        [waiting] = result.waiting
        assert waiting.until - waiting.since == desired.failover.move_wait
        return "records a wait", "", ""
    [waiting] = result.waiting
    assert waiting.target == "api/0" and waiting.to == "work"
    return "waits", "", ""


@pytest.mark.parametrize(("name", "options", "what", "why", "cut"), ROWS,
                         ids=[r[0] for r in ROWS])
def test_when_a_claude_moves(desired: DesiredState, name: str, options: dict[str, Any],
                             what: str, why: str, cut: str) -> None:
    assert _outcome(desired, world(desired, **options)) == (what, why, cut)


def test_the_message_goes_on_the_resume_line_after_two_dashes(desired: DesiredState) -> None:
    observed = world(desired, status="busy", limits=(limit("personal"),))
    launch = next(a for a in plan(desired, observed).actions if isinstance(a, LaunchClaude))
    assert launch.message == MESSAGE
    assert launch.line.endswith(f"--resume {SID} -- 'Continue from where you left off.'")


def test_continue_false_resumes_at_an_empty_prompt(tmp_path: Any) -> None:
    off = load_text(tmp_path / "d.yaml", desired_yaml(
        autonomous="{prefix: auto-, start_index: 0, min: 2, max: 3}",
        extra="failover: {continue: false}\n"))
    observed = world(off, status="busy", cut="row:u1", limits=(limit("personal"),))
    launch = next(a for a in plan(off, observed).actions if isinstance(a, LaunchClaude))
    assert launch.message is None and launch.line.endswith(f"--resume {SID}")


def test_move_wait_zero_cuts_at_once(tmp_path: Any) -> None:
    eager = load_text(tmp_path / "d.yaml", desired_yaml(
        autonomous="{prefix: auto-, start_index: 0, min: 2, max: 3}",
        extra="failover: {move_wait: 0s}\n"))
    assert _outcome(eager, world(eager, status="busy")) == ("moves", "cut", "busy:501")


def test_a_relaunch_after_a_crash_continues_what_the_stop_cut(desired: DesiredState) -> None:
    """Stopped (the pending record says which turn was cut), then a crash: the relaunch
    still sends the message."""
    record = LaunchRecord("auto-0/0", SID3, "/h/proj", "personal",  # type: ignore[arg-type]
                          pending_relaunch=True, pid=7, cut="busy:7", why="limit")
    observed = replace(converged(desired), records={"auto-0/0": record},
                       transcripts={"/h/proj": (SID3,), "/h/src/api": (SID,)})
    [launch] = [a for a in plan(desired, observed).actions if isinstance(a, LaunchClaude)]
    assert (launch.target, launch.message, launch.cut) == ("auto-0/0", MESSAGE, "busy:7")
