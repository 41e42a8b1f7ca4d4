"""Usage-limit detection and reset parsing as a table: every known wording, the
negatives, at fixed instants across midnight, DST changes and zones.

The rows below are the grammar's own cases; ``limit_texts.json`` holds what Claude Code
2.1.197 and 2.1.337 print (rebuilt from each release's code, ids start with the release)
and near misses of those families, in the same shape."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from reconciler.failover import detect

BERLIN, CHICAGO, NY, LONDON = (ZoneInfo(z) for z in (
    "Europe/Berlin", "America/Chicago", "America/New_York", "Europe/London"))
RELEASES = json.loads((Path(__file__).parent / "limit_texts.json").read_text(encoding="utf-8"))

# (id, text, now (local wall time), local zone, expected kind, expected reset as ISO)
POSITIVE = [
    ("epoch", "Claude AI usage limit reached|1732420800",
     "2024-11-24T01:00", BERLIN, "usage", "2024-11-24T04:00:00+00:00"),
    ("legacy with zone", "Claude usage limit reached. Your limit will reset at 9am "
     "(America/Chicago).", "2026-11-24T10:00", BERLIN, "usage", "2026-11-24T09:00:00-06:00"),
    ("5-hour before the reset", "5-hour limit reached ∙ resets 5am",
     "2026-11-24T03:00", BERLIN, "session", "2026-11-24T05:00:00+01:00"),
    ("5-hour across midnight", "5-hour limit reached ∙ resets 5am",
     "2026-11-24T23:30", BERLIN, "session", "2026-11-25T05:00:00+01:00"),
    ("opus weekly with date", "Opus weekly limit reached ∙ resets Oct 31, 9am",
     "2026-10-30T12:00", CHICAGO, "opus", "2026-10-31T09:00:00-05:00"),
    ("hit your limit, zone differs from local", "You've hit your limit · resets 8am "
     "(Europe/London)", "2026-11-24T12:00", ZoneInfo("Asia/Tokyo"), "usage",
     "2026-11-24T08:00:00+00:00"),
    ("session limit 12:50am", "You've hit your session limit · resets 12:50am "
     "(America/Los_Angeles)", "2026-11-24T20:00", ZoneInfo("America/Los_Angeles"), "session",
     "2026-11-25T00:50:00-08:00"),
    ("weekly with 'at' and 12am", "You've hit your weekly limit · resets Jul 15 at 12am "
     "(America/Detroit)", "2026-07-10T08:00", ZoneInfo("America/Detroit"), "weekly",
     "2026-07-15T00:00:00-04:00"),
    ("opus with minutes and Calcutta", "You've hit your Opus limit · resets Jan 30, 11:30am "
     "(Asia/Calcutta)", "2027-01-28T08:00", ZoneInfo("Asia/Kolkata"), "opus",
     "2027-01-30T11:30:00+05:30"),
    ("curly apostrophe", "You\u2019ve hit your limit \u00b7 resets 12pm",
     "2026-11-24T09:00", BERLIN, "usage", "2026-11-24T12:00:00+01:00"),
    ("bullet operator separator", "You've hit your limit \u2219 resets 12pm",
     "2026-11-24T13:00", BERLIN, "usage", "2026-11-25T12:00:00+01:00"),
    ("DST gap moves forward", "You've hit your limit · resets 2:30am (America/New_York)",
     "2026-03-08T01:00", NY, "usage", "2026-03-08T03:30:00-04:00"),
    ("DST end, day after", "5-hour limit reached ∙ resets 9am",
     "2026-10-25T07:00", LONDON, "session", "2026-10-25T09:00:00+00:00"),
    ("DST start, before", "5-hour limit reached ∙ resets 9am",
     "2026-03-29T00:30", LONDON, "session", "2026-03-29T09:00:00+01:00"),
    ("relative", "You've hit your limit · resets in 2 hours 30 minutes",
     "2026-11-24T10:00", BERLIN, "usage", "2026-11-24T12:30:00+01:00"),
    ("weekday", "You've hit your weekly limit · resets Monday 9am",
     "2026-11-26T10:00", BERLIN, "weekly", "2026-11-30T09:00:00+01:00"),
    ("date with year", "You've hit your weekly limit · resets Dec 1, 2026, 9am",
     "2026-11-26T10:00", BERLIN, "weekly", "2026-12-01T09:00:00+01:00"),
    ("date in January seen in December", "You've hit your Opus limit · resets Jan 2, 9am",
     "2026-12-30T10:00", BERLIN, "opus", "2027-01-02T09:00:00+01:00"),
    ("ANSI, box drawing and a wrapped line",
     "\x1b[1m\u2502 You've hit your session limit \u00b7\n\u2502 resets 5am (Europe/Berlin) \u2502",
     "2026-11-24T03:00", LONDON, "session", "2026-11-24T05:00:00+01:00"),
    ("24-hour clock", "You've hit your limit · resets 17:00 (Europe/Berlin)",
     "2026-11-24T10:00", BERLIN, "usage", "2026-11-24T17:00:00+01:00"),
    # the families seen in 2.1.x and in public reports
    ("2.1.197 session limit in UTC", "  ⎿  You've hit your session limit · resets 2:12am (UTC)",
     "2026-11-25T01:00", BERLIN, "session", "2026-11-25T02:12:00+00:00"),
    ("out of extra usage", "You're out of extra usage · resets 4pm (UTC)",
     "2026-11-24T10:00", BERLIN, "extra", "2026-11-24T16:00:00+00:00"),
    ("run out of credits, no reset", "You've run out of credits",
     "2026-11-24T10:00", BERLIN, "extra", "2026-11-24T15:00:00+01:00"),
    ("org monthly, no reset", "You've hit your org's monthly usage limit",
     "2026-11-24T10:00", BERLIN, "monthly", "2026-11-24T15:00:00+01:00"),
    ("bare usage limit", "You've hit your usage limit.",
     "2026-11-24T10:00", BERLIN, "usage", "2026-11-24T15:00:00+01:00"),
    ("limit reached, short form", "Limit reached · resets 3am",
     "2026-11-24T22:00", BERLIN, "usage", "2026-11-25T03:00:00+01:00"),
    ("opus limit reached", "Opus limit reached ∙ resets 5pm (America/New_York)",
     "2026-11-24T10:00", NY, "opus", "2026-11-24T17:00:00-05:00"),
    ("have reached, weekly usage, in hours", "You have reached your weekly usage limit · "
     "resets in 3 hours", "2026-11-24T10:00", BERLIN, "weekly", "2026-11-24T13:00:00+01:00"),
    ("sonnet limit on a weekday", "You've hit your Sonnet limit · resets Monday 9am "
     "(Europe/London)", "2026-11-25T10:00", LONDON, "sonnet", "2026-11-30T09:00:00+00:00"),
    ("date only: the start of that day", "You've hit your weekly limit · resets Dec 1 "
     "(Europe/Berlin)", "2026-11-26T10:00", BERLIN, "weekly", "2026-12-01T00:00:00+01:00"),
    ("monthly resets on a date next month", "You've hit your org's monthly usage limit · "
     "resets Dec 20", "2026-11-26T10:00", BERLIN, "monthly", "2026-12-20T00:00:00+01:00"),
    ("the limit menu", "What do you want to do?\n\u276f 1. Stop and wait for limit to reset\n"
     "  2. Upgrade your plan\nEnter to confirm · Esc to cancel",
     "2026-11-24T10:00", BERLIN, "usage", "2026-11-24T15:00:00+01:00"),
    ("legacy, reset at 9pm", "Claude usage limit reached. Your limit will reset at 9pm.",
     "2026-11-24T10:00", BERLIN, "usage", "2026-11-24T21:00:00+01:00"),
    ("across a DST change in Sydney", "You've hit your session limit · resets 3am "
     "(Australia/Sydney)", "2026-04-05T01:00", ZoneInfo("Australia/Sydney"), "session",
     "2026-04-05T03:00:00+10:00"),
    # 2.1.197, sent by the StopFailure hook with error "rate_limit"
    ("out of usage credits", "You're out of usage credits · resets 8pm (UTC)",
     "2026-11-24T10:00", BERLIN, "extra", "2026-11-24T20:00:00+00:00"),
    ("org monthly spend, ask the admin", "You've hit your org's monthly spend limit · ask your "
     "admin to raise it", "2026-11-24T10:00", BERLIN, "monthly", "2026-11-24T15:00:00+01:00"),
    ("monthly spend, raise it", "You've hit your monthly spend limit · raise it at "
     "claude.ai/settings/usage", "2026-11-24T10:00", BERLIN, "monthly",
     "2026-11-24T15:00:00+01:00"),
    ("usage limit, contact the admin", "You've hit your usage limit · contact your admin to "
     "increase it", "2026-11-24T10:00", BERLIN, "usage", "2026-11-24T15:00:00+01:00"),
    ("a model nobody listed", "You've hit your Fable 5 limit · resets 3am",
     "2026-11-24T22:00", BERLIN, "model", "2026-11-25T03:00:00+01:00"),
    ("org out of usage, add funds", "Your org is out of usage · add funds to continue",
     "2026-11-24T10:00", BERLIN, "monthly", "2026-11-24T15:00:00+01:00"),
    ("org out of usage, contact the admin", "Your org is out of usage · contact your admin",
     "2026-11-24T10:00", BERLIN, "monthly", "2026-11-24T15:00:00+01:00"),
    ("group limit of $0", "Your group's usage limit is set to $0 · ask your admin",
     "2026-11-24T10:00", BERLIN, "usage", "2026-11-24T15:00:00+01:00"),
]
POSITIVE += [(row["id"], row["text"], row["now"], ZoneInfo(row["zone"]), row["kind"],
              row["resets"]) for row in RELEASES["positive"]]


@pytest.mark.parametrize(("name", "text", "now", "zone", "kind", "resets"), POSITIVE,
                         ids=[p[0] for p in POSITIVE])
def test_limit_detected_with_reset(name: str, text: str, now: str, zone: ZoneInfo, kind: str,
                                   resets: str) -> None:
    at = datetime.fromisoformat(now).replace(tzinfo=zone)
    match = detect(text, now=at, local=zone)
    assert match.limit, match.reason
    assert match.kind == kind
    expected = datetime.fromisoformat(resets)  # what the words name (or the default)
    if match.named is None:
        assert match.resets_at == expected, match.reason
    else:  # never before the real reset: the end of the minute (the day) the words name
        assert match.named == expected, match.reason
        assert match.resets_at == expected + (
            timedelta(days=1) if match.approximate else timedelta(minutes=1))


NEGATIVE = [
    ("api rate limit", "API Error: Rate limit reached", "not_a_limit"),
    ("server limiting", "Server is temporarily limiting requests (not your usage limit)",
     "not_a_limit"),
    ("overloaded", 'API Error: 529 {"type":"error","error":{"type":"overloaded_error",'
     '"message":"Overloaded"}}', "not_a_limit"),
    ("approaching warning", "Approaching usage limit · resets at 5am", "approaching"),
    ("approaching opus", "Approaching Opus usage limit", "approaching"),
    ("plain text", "All tests passed. The usage of limits in this module is fine.", "none"),
    ("model fallback", "Claude Opus limit reached, now using Sonnet 4", "fallback"),
    ("context limit", "Context limit reached · /compact or /clear to continue", "not_a_limit"),
    ("prompt too long", "Prompt is too long", "not_a_limit"),
    ("api key 429", 'API Error: 429 {"type":"error","error":{"type":"rate_limit_error"}}',
     "not_a_limit"),
    ("close to the limit", "You're close to your weekly limit", "approaching"),
    ("approaching opus weekly", "Approaching Opus weekly limit · resets Monday", "approaching"),
    ("talking about limits", "The function raises when the limit is exceeded by the caller.",
     "none"),
    ("someone reached the limit", "I think you have reached the limit.", "none"),
    ("an error about some limit", "Error: you have exceeded the limit", "none"),
    ("bare limit reached", "Limit reached", "none"),
    ("bare limit reached in bash output", "  ⎿  Limit reached", "none"),
    # near misses of the 2.1.197 forms: spend limits, orgs, groups, models, remedies
    ("approaching spend", "Approaching your monthly spend limit", "approaching"),
    ("org usage policy", "Please review your org's usage policy · contact your admin", "none"),
    ("setting a spend limit", "You can set a spend limit in settings", "none"),
    ("a group's rate", "the group's limit is 5 requests per minute", "none"),
    ("your group's rate", "Your group's limit is 5 requests per minute · ask your admin", "none"),
    ("a limit of cents", "Your group's usage limit is set to $0.50 · ask your admin", "none"),
    ("a limit of dollars", "Your org's spend limit is set to $500 · ask your admin", "none"),
    ("out of usage, quoted", "what does 'out of usage' mean?", "none"),
    ("the statement, quoted", 'What does "Your org is out of usage · contact your admin" mean?',
     "none"),
    ("the statement in single quotes", "He pasted 'You're out of usage credits · resets 8pm "
     "(UTC)' into the chat", "none"),
    ("a condition", "If you're out of usage credits, add funds to continue.", "none"),
    ("a condition with a remedy", "When you've hit your usage limit · contact your admin", "none"),
    ("a question", "Is your org out of usage?", "none"),
    ("a question after the statement", "You've hit your monthly spend limit? Check settings.",
     "none"),
    ("out of usage data", "Your org is out of usage data for this month.", "none"),
    ("no remedy after the separator", "You've hit your usage limit · what now?", "none"),
    ("a capitalised rate", "You've hit your API limit · wait a minute", "none"),
    ("a capitalised context", "You've hit your Context limit · /compact to continue",
     "not_a_limit"),
    ("a capitalised token count", "You've hit your Token limit", "none"),
    ("a lower-case limit of code", "You've hit your recursion limit", "none"),
]
NEGATIVE += [(row["id"], row["text"], row["kind"]) for row in RELEASES["negative"]]


@pytest.mark.parametrize(("name", "text", "kind"), NEGATIVE, ids=[n[0] for n in NEGATIVE])
def test_not_a_usage_limit(name: str, text: str, kind: str) -> None:
    """Not a limit; a warning before one ("approaching") says it is a warning."""
    match = detect(text, now=datetime(2026, 11, 24, 10, tzinfo=BERLIN), local=BERLIN)
    assert not match.limit and match.kind == kind and match.resets_at is None, match.reason
    assert match.warning == (kind == "approaching")


@pytest.mark.parametrize("text", ["You've hit your limit · resets soon",
                                  "You've hit your limit · resets Feb 30, 9am"])
def test_unparsable_reset_falls_back_and_says_so(text: str) -> None:
    now = datetime(2026, 11, 24, 10, tzinfo=BERLIN)
    match = detect(text, now=now, local=BERLIN, default_reset=timedelta(hours=3))
    assert match.limit and match.resets_at == now + timedelta(hours=3)
    assert "assuming" in match.reason


def test_implausible_reset_far_out_falls_back() -> None:
    now = datetime(2026, 11, 24, 10, tzinfo=BERLIN)
    match = detect("You've hit your weekly limit · resets Jul 15 at 12am", now=now, local=BERLIN)
    assert match.limit and match.resets_at == now + timedelta(hours=5)
    assert "implausible" in match.reason


def test_date_only_reset_is_flagged_approximate() -> None:
    now = datetime(2026, 11, 26, 10, tzinfo=BERLIN)
    match = detect("You've hit your weekly limit · resets Dec 1", now=now, local=BERLIN)
    assert match.approximate and match.named == datetime(2026, 12, 1, tzinfo=BERLIN)
    assert match.resets_at == datetime(2026, 12, 2, tzinfo=BERLIN), "the end of that day"
    exact = detect("You've hit your weekly limit · resets Dec 1, 9am", now=now, local=BERLIN)
    assert not exact.approximate


def test_last_message_wins() -> None:
    text = "5-hour limit reached ∙ resets 5am\n...\nYou've hit your weekly limit · resets 9pm"
    now = datetime(2026, 11, 24, 10, tzinfo=BERLIN)
    assert detect(text, now=now, local=BERLIN).kind == "weekly"


def test_limit_check_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "reconciler", "limit-check", "--json", "--now",
         "2026-11-24T23:30:00", "--tz", "Europe/Berlin", "5-hour limit reached ∙ resets 5am"],
        capture_output=True, text=True, check=True, timeout=30,
    )
    assert json.loads(out.stdout) == {
        "limit": True, "kind": "session", "resets_at": "2026-11-25T05:01:00+01:00",
        "named": "2026-11-25T05:00:00+01:00", "approximate": False,
        "reason": "session limit, resets 2026-11-25T05:01:00+01:00 (clock, local zone)"}


def test_limit_check_reads_stdin() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "reconciler", "limit-check", "--json", "-"],
        input="529 Overloaded", capture_output=True, text=True, check=False, timeout=30,
    )
    assert out.returncode == 1 and json.loads(out.stdout)["limit"] is False


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00"])
def test_limit_check_at_the_ends_of_time_is_an_error_not_a_traceback(now: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "reconciler", "limit-check", "--now", now,
         "You've hit your session limit · resets 2:12am"],
        capture_output=True, text=True, check=False, timeout=30)
    assert out.returncode == 1 and "Traceback" not in out.stderr, out.stderr


@pytest.mark.parametrize(("text", "code", "says"), [
    ("You've hit your session limit · resets 2:12am (UTC)", 0, "a usage limit (session)"),
    ("all good here", 1, "not a usage limit"),
])
def test_limit_check_speaks_text_and_exits_like_grep(text: str, code: int, says: str) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "reconciler", "limit-check", "--now", "2026-11-25T01:00:00+00:00",
         "--tz", "UTC", text], capture_output=True, text=True, check=False, timeout=30)
    assert out.returncode == code and out.stdout.startswith(says), out.stdout + out.stderr
    assert "Traceback" not in out.stderr


def test_a_reset_read_late_is_over_not_tomorrow() -> None:
    """Printed at 01:00 ("resets 2:12am"), read at 02:13: the limit has passed."""
    utc = ZoneInfo("UTC")
    said, now = datetime(2026, 11, 25, 1, tzinfo=utc), datetime(2026, 11, 25, 2, 13, tzinfo=utc)
    text = "You've hit your session limit · resets 2:12am (UTC)"
    late = detect(text, now=now, local=utc, said_at=said)
    assert not late.limit and "has already passed" in late.reason
    on_time = detect(text, now=said, local=utc, said_at=said)
    assert on_time.limit and on_time.named == datetime(2026, 11, 25, 2, 12, tzinfo=utc)
    assert on_time.resets_at == datetime(2026, 11, 25, 2, 13, tzinfo=utc), "its minute's end"


@pytest.mark.parametrize("text", [
    "1. You've hit your limit · resets in 99999999999 hours",
    "You've hit your limit · resets Dec 31, 9999 11pm (America/Los_Angeles)",
    "You've hit your limit · resets Jan 1, 1 12am",
])
def test_absurd_resets_never_overflow(text: str) -> None:
    now = datetime(2026, 11, 24, 10, tzinfo=BERLIN)
    match = detect(text, now=now, local=BERLIN)
    assert match.limit and match.resets_at == now + timedelta(hours=5), match.reason


@pytest.mark.timeout(10)  # a hang guard, not a speed goal: quadratic took minutes here
def test_a_long_line_of_separators_and_remedies_is_read_in_one_pass() -> None:
    """A pane can hold 100 KB on one line; every free-text run of the grammar is bounded,
    so a line full of "· ask" costs one pass, not one per separator."""
    now = datetime(2026, 11, 24, 10, tzinfo=BERLIN)
    text = "You've hit your limit · resets 3am" + " · ask" * 16000 + "?"
    assert not detect(text, now=now, local=BERLIN, default_reset=timedelta(hours=5)).limit


@pytest.mark.timeout(10)
@pytest.mark.parametrize("text", [
    "You've hit your limit · ask " * 3600 + "?",  # a head inside every remedy
    "You've hit your limit" + " · resets 2am" * 7700 + "?",
    "You've hit your limit" + " it resets" * 10000,
    "You've hit your limit · ask " + "x" * 100_000,  # one segment, 100 KB long
    "✻ Usage limit reached · retrying in " + "5m " * 33000,
    "Automatic continue cancelled · " * 3200,
    "Automatic continue stopped · " + ("x" * 150 + ", so ") * 640,
    "Automatic continue stopped · " + "a, " * 33000,
    "Fable requires usage credits · " * 3200,
    "Paused · " * 11000,
    "What do you want to do?\n" * 4100,
    "approaching " * 8300 + "\nYou've used 9 " * 7000,
    " · " * 33000,
    ". " * 50000,
], ids=["remedies", "resets", "junctions", "long segment", "retry", "auto cancelled",
        "so clauses", "commas", "model credits", "paused", "menu headers", "warnings",
        "separators", "sentences"])
def test_every_new_family_reads_a_long_line_in_one_pass(text: str) -> None:
    """The same guard for each family added since: tails are read once per position,
    segments are bounded, the menu reads only its last header's lines."""
    now = datetime(2026, 11, 24, 10, tzinfo=BERLIN)
    assert not detect(text, now=now, local=BERLIN, default_reset=timedelta(hours=5)).limit


def test_a_reset_in_the_minute_it_was_printed_is_this_minute_not_tomorrow() -> None:
    """"resets 1:55am" printed at 1:55:05 (the epoch said 1:55:45): the minute named has
    not ended, so the reset is its end, 1:56:00, and never a day later."""
    utc = ZoneInfo("UTC")
    said = datetime(2026, 12, 8, 1, 55, 5, tzinfo=utc)
    match = detect("You've hit your session limit · resets 1:55am (UTC)", now=said,
                   local=utc, said_at=said)
    assert match.limit and match.resets_at == datetime(2026, 12, 8, 1, 56, tzinfo=utc)
