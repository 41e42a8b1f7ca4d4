"""Recognise that an account's usage is exhausted, by grammar rather than a list of
sentences.

A limit statement is a head that says the usage is used up, then nothing but resets,
remedies and statuses to the end of its line (``_grammar``). Heads: a limit hit
(``You've hit your weekly limit``, ``... your team's pooled group budget``, ``... your
Fable 5 limit``: a capitalised model name), usage run out (``You're out of usage
credits``, ``Your org is out of usage``), a limit of nothing (``Your group's usage limit
is set to $0``), a limit reached (``Opus weekly limit reached``, the retry banner ``✻
5-hour limit reached · retrying in 5m (2:12am) · attempt 3/10``, ``Claude AI usage limit
reached|<epoch>``), a refusal that stops the account all the same (seat, service,
allocation, trial, credit balance, a model that needs credits), the wait for the reset
(``Continuing automatically at 1:58am · Esc to cancel``, ``Automatic continue cancelled ·
...``) or the ``/rate-limit-options`` menu. Resets: ``· resets 2:12am (UTC)``, ``Your limit
will reset at 9am``, ``resets Dec 1``, ``resets in 2 hours``, ``· your 5-hour limit resets
...`` after a spend cap (the account is usable then, so it wins); remedies: an imperative
(``· ask your admin to raise it``, ``. Run /usage-credits ...``, ``· /upgrade``). Anything
else after the head is prose about a limit, not the limit. Text is normalised first (ANSI
and box drawing off, wrapped lines joined, curly apostrophes and bullets folded).

Never limits: overloads, "not your usage limit" throttling, API-key 429s
("Rate limit reached"), warnings ("Approaching ...", "You've used 90% of ...", "Over 90%
of ... used": flagged ``warning``), model fallbacks ("... limit reached, now using
Sonnet"), context limits, a condition ("if you're out of usage"), a statement in quotes
("what does 'Your org is out of usage' mean?"), the limit's end ("Usage limit reset ·
Continuing automatically") and a wait called off because the login changed (the next
login is not the limited one).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

from reconciler.failover._grammar import QUALIFIERS, TIME, Statement, statements
from reconciler.failover._reset import parse_reset

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)")
"""CSI and OSC sequences; an OSC is ``ESC ]`` to its BEL or ST (ESC and a backslash), with
no other ESC inside: a run of unended ones is one pass over the text, not one each."""
_BOX = re.compile(r"[\u2500-\u259f\u25cf\u23bf\u276f]")
_EPOCH = re.compile(r"Claude AI usage limit reached\|(\d{9,11})")
_MENU = re.compile(r"what do you want to do\?", re.IGNORECASE)
_MENU_ROW = re.compile(r"\b(?:(?:stop\s+and\s+)?wait\s+for\s+(?:the\s+)?limit\s+to\s+reset|wait\s+"
                       r"here,\s+then\s+continue\s+automatically|add\s+funds\s+to\s+continue\s+"
                       r"with\s+usage)\b", re.IGNORECASE)
_MENU_RESET = re.compile(rf"(?:continue\s+automatically\s+at|limit\s+to\s+reset\s+resets)\s+"
                         rf"(?P<reset>{TIME})", re.IGNORECASE)
_MENU_LINES = 14
_NOT_LIMITS = (
    # runs bounded: a line of "approaching" with no "limit" is one pass, not one per word
    (re.compile(r"approaching\b[^\n]{0,80}?\blimit|close to your\b[^\n]{0,80}?\blimit|"
                r"\b(?:you(?:'ve| have) used|over)\s+\d{1,3}(?:\.\d+)?\s*%\s+of\s+your\b",
                re.IGNORECASE), "approaching", "a warning before the limit, not the limit"),
    (re.compile(r"\blimit reached\s*,?\s*(?:now using|switching to|falling back)",
                re.IGNORECASE), "fallback", "a model fallback: the session goes on"),
    (re.compile(r"context (?:window|limit)|prompt is too long", re.IGNORECASE),
     "not_a_limit", "a context limit, not a usage limit"),
    (re.compile(r"not your usage limit|temporarily limiting requests", re.IGNORECASE),
     "not_a_limit", "server throttling, not a usage limit"),
    (re.compile(r"\brate limit reached|rate_limit_error|\b429\b", re.IGNORECASE),
     "not_a_limit", "an API rate limit, not a usage limit"),
    (re.compile(r"\b529\b|overloaded", re.IGNORECASE), "not_a_limit", "an overload"),
)


@dataclass(frozen=True)
class LimitMatch:
    limit: bool
    kind: str
    resets_at: datetime | None
    reason: str
    warning: bool = False
    text: str = ""
    approximate: bool = False
    """The reset was a date without a time: the end of that day is assumed."""
    named: datetime | None = None
    """The instant the words name, to their minute (or day); ``resets_at`` is the end of
    that minute (or day): a reset read from words is never earlier than the real one."""

    def to_json(self) -> dict[str, object]:
        return {"limit": self.limit, "kind": self.kind,
                "resets_at": self.resets_at.isoformat() if self.resets_at else None,
                "named": self.named.isoformat() if self.named else None,
                "approximate": self.approximate, "reason": self.reason}


def normalise(text: str) -> str:
    """Plain text as a person reads it off the pane."""
    text = _ANSI.sub("", text).replace("\u2019", "'").replace("\u2018", "'")
    text = _BOX.sub(" ", text).replace("\u2219", "·").replace("\r", "")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    joined: list[str] = []
    pieces: list[str] = []  # the line being joined, joined once: a long run is one pass
    end = ""  # its last characters
    for line in lines:
        if end and line and not re.match(r"^[>$#]", line) and (
            end.endswith(("·", "∙", " at", ",", "resets", "reset", "|"))
            or re.match(r"^(resets|\(|[a-z])", line)
        ):
            pieces.append(line)
            end = f"{end} {line}"[-8:]
        else:
            if pieces:
                joined.append(" ".join(pieces))
            pieces, end = [line], line[-8:]
    joined.append(" ".join(pieces))
    return "\n".join(joined)


def kind_of(what: str | None, model: str | None = None) -> str:
    """The kind from the words that qualify the limit; a limit named only by a model
    nobody listed here (``Fable 5``) is a model limit. A spend cap, a budget and
    anything an org's is counted by the month."""
    words = f"{model or ''} {what or ''}".lower()
    for needle, kind in (("opus", "opus"), ("sonnet", "sonnet"), ("haiku", "haiku"),
                         ("weekly", "weekly"), ("monthly", "monthly"), ("org", "monthly"),
                         ("spend", "monthly"), ("budget", "monthly"), ("individual", "monthly"),
                         ("channel", "monthly"), ("extra", "extra"), ("credit", "extra"),
                         ("5-hour", "session"), ("five-hour", "session"),
                         ("session", "session"), ("daily", "daily")):
        if needle in words:
            return kind
    if model and not re.fullmatch(rf"(?:(?:{QUALIFIERS})\s*)+", model, re.IGNORECASE):
        return "model"
    return "usage"


def _kind(found: Statement) -> str:
    return kind_of(f"{found.who} {found.what}", found.model)


def _menu(plain: str) -> tuple[bool, str | None]:
    """The last ``/rate-limit-options`` menu: its header, then a row only that menu has
    within a few lines (and the reset a row names). Only the last header is read, and
    only its lines: a pane of headers costs one pass."""
    header = max(_MENU.finditer(plain), key=lambda m: m.start(), default=None)
    if header is None:
        return False, None
    lines = plain[header.end():].split("\n", _MENU_LINES)[:_MENU_LINES]
    block = "\n".join(line[:400] for line in lines)
    if not _MENU_ROW.search(block):
        return False, None
    reset = _MENU_RESET.search(block)
    return True, reset.group("reset") if reset else None


def detect(
    text: str, *, now: datetime, local: tzinfo, default_reset: timedelta = timedelta(hours=5),
    said_at: datetime | None = None,
) -> LimitMatch:
    """The last usage-limit statement in ``text``, with its reset instant.

    A reset is read from the moment the text was printed (``said_at``: a hook event's or
    a transcript row's time; else ``now``): "resets 2:12am" printed at 1:00 and read at
    2:13 has passed, and the limit with it."""
    plain = normalise(text)
    clock = Clock(now, said_at or now, default_reset)
    best = next(statements(plain), None)
    epoch = max(_EPOCH.finditer(plain), key=lambda m: m.start(), default=None)
    if epoch is not None and (best is None or epoch.start() >= best.start):
        stamp = datetime.fromtimestamp(int(epoch.group(1)), tz=local)
        return checked("usage", stamp, clock, epoch.group(0), how="epoch reset")
    if best is not None:
        return _read(_kind(best), best.reset, best.line, clock, local)
    menu, reset_text = _menu(plain)
    if menu:
        return _read("usage", reset_text, "the /rate-limit-options menu", clock, local)
    for pattern, kind, why in _NOT_LIMITS:
        if pattern.search(plain):
            return LimitMatch(False, kind, None, f"{why} ({pattern.pattern!r})",
                              warning=kind == "approaching")
    return LimitMatch(False, "none", None, "no usage-limit message found")


def _read(kind: str, reset_text: str | None, line: str, clock: Clock,
          local: tzinfo) -> LimitMatch:
    """A limit with the reset its words name, read from when they were printed."""
    if reset_text is None:
        return checked(kind, None, clock, line, how="no reset")
    instant, how = parse_reset(reset_text, now=clock.said, local=local)
    found = checked(kind, end_of_named(instant, how), clock, line, how=how)
    return replace(found, named=instant) if found.resets_at is not None and (
        found.resets_at == end_of_named(instant, how)) else found


def end_of_named(instant: datetime | None, how: str) -> datetime | None:
    """The end of what words name: "resets 1:58am" names the minute 1:58, so the reset
    is not before 1:59:00 (the API's epoch said 1:58:51); a date alone names a day."""
    if instant is None:
        return None
    if "date only" in how:
        return instant + timedelta(days=1)
    return instant + timedelta(minutes=1)


@dataclass(frozen=True)
class Clock:
    now: datetime
    said: datetime
    """When the text was printed."""
    default: timedelta


def checked(kind: str, instant: datetime | None, clock: Clock, line: str, *,
             how: str) -> LimitMatch:
    """A reset already passed (read late) ends the limit; one before the text was printed
    or more than 35 days out is implausible: the default is used."""
    now, said, default = clock.now, clock.said, clock.default
    approximate = "date only" in how
    if instant is None and said + default <= now:
        return LimitMatch(False, kind, said + default, f"{kind} limit printed at "
                          f"{said.isoformat()}: its default reset has passed", text=line)
    if instant is not None and said - timedelta(minutes=5) <= instant <= now:
        return LimitMatch(False, kind, instant, f"{kind} limit: its reset "
                          f"{instant.isoformat()} has already passed", text=line)
    if instant is None or instant < said - timedelta(minutes=5) or instant > said + timedelta(
            days=35):
        fallback = said + default
        why = "unparsable" if instant is None and how != "no reset" else (
            "not given" if instant is None else f"implausible ({instant.isoformat()})")
        return LimitMatch(True, kind, fallback,
                          f"{kind} limit: reset {why}; assuming {fallback.isoformat()}", text=line)
    return LimitMatch(True, kind, instant, f"{kind} limit, resets {instant.isoformat()} ({how})",
                      text=line, approximate=approximate)
