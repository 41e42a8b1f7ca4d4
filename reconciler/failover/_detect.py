"""Recognise that an account's usage is exhausted, by grammar rather than a list of
sentences.

A limit statement is a subject that says the usage is used up, then nothing but a
reset and/or a remedy. Subjects: you, or your org/team/group ("Your org is ...");
statements: a limit hit (``You've hit your weekly limit``, ``You've hit your org's
monthly spend limit``, ``You've hit your Fable 5 limit``: a capitalised model name),
usage run out (``You're out of usage credits``, ``Your org is out of usage``), a limit
of nothing (``Your group's usage limit is set to $0``), a limit reached (``Opus weekly
limit reached``, ``Claude AI usage limit reached|<epoch>``) or the
``/rate-limit-options`` menu. Resets: ``· resets 2:12am (UTC)``, ``Your limit will reset
at 9am``, ``resets Dec 1``, ``resets in 2 hours``; remedies, after a separator: an
imperative (``· ask your admin to raise it``, ``· add funds to continue``, ``· /upgrade``).
Anything else after the statement is prose about a limit, not the limit. Text is
normalised first (ANSI and box drawing off, wrapped lines joined, curly apostrophes and
bullets folded).

Never limits: overloads, "not your usage limit" throttling, API-key 429s
("Rate limit reached"), warnings ("Approaching ..."), model fallbacks ("... limit
reached, now using Sonnet"), context limits, a condition ("if you're out of usage") and
a statement in quotes ("what does 'Your org is out of usage' mean?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta, tzinfo

from reconciler.failover._reset import parse_reset

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*(?:\x07|\x1b\\)")
_BOX = re.compile(r"[\u2500-\u259f\u25cf\u23bf\u276f]")
_SEP = r"\s*[·∙•|\u2013\u2014-]\s*"
_QUALIFIERS = (r"5-hour|five-hour|session|weekly|daily|monthly|opus|sonnet|haiku|model|org's|"
               r"organization's|team's|group's|workspace's|extra|usage|plan|spend|spending")
_QUAL = rf"(?P<what>(?:(?:{_QUALIFIERS})\s+)*)"
# a model's name is capitalised words and versions; these capitalised words name limits
# that are not usage (a context, a rate, a token count)
_NOT_MODEL = (r"(?!(?:context|rate|tokens?|requests?|api|output|input|recursion|retry|turns?|"
              r"time|file|size|length|memory|prompt|messages?|calls?|concurrency)\b)")
_WORD = rf"{_NOT_MODEL}(?-i:[A-Z][\w.-]*)"
_MODEL = rf"(?P<model>{_WORD}(?:\s+(?:{_WORD}|\d[\w.]*)){{0,3}}\s+)?"
# a statement, not a quotation or a condition ("if you're out of usage, ...")
_START = r"(?<![\w\"'])(?<!\bif )(?<!\bwhen )(?<!\bonce )(?<!\bunless )(?<!\buntil )"
_WHO = r"(?P<who>your\s+(?:org|organi[sz]ation|team|group|workspace))"
# Both free-text runs are bounded: a reset or a remedy is a few words, and unbounded lazy
# runs that meet at every "· ask" made a long line cost quadratic time (100 KB: minutes).
_REMEDY = (rf"(?:{_SEP}|\.\s+)(?:please\s+)?(?:ask|contact|raise|increase|add|buy|purchase|"
           r"upgrade|request|visit|go to|enable|turn on|manage|wait|/[a-z][\w-]*)\b"
           r"[^\n\"?]{0,160}?")
_TAIL = (rf"(?:(?:{_SEP}|,?\s+|\.\s*)(?:your limit will\s+)?(?:resets?|reset at|resets at)\s+"
         rf"(?P<reset>[^\n]{{1,160}}?))?(?:{_REMEDY})?\s*[.!]?\s*$")
_NO_FALLBACK = r"(?!\s*,?\s*(?:now using|switching|falling back))"
_FLAGS = re.IGNORECASE | re.MULTILINE
_STATEMENTS = (
    # "your limit" is Claude's; "the limit" only with what limit it is ("the limit" alone
    # is how anyone talks about anything)
    re.compile(rf"{_START}(?:you(?:'ve| have)|{_WHO}\s+has)\s+(?:hit|reached|exceeded|used up)"
               rf"\s+(?:(?:your|its|their)\s+{_MODEL}|the\s+(?=(?:{_QUALIFIERS})\s)){_QUAL}"
               rf"limit\b{_NO_FALLBACK}{_TAIL}", _FLAGS),
    re.compile(rf"{_START}(?:you(?:'re| are)|you(?:'ve| have)\s+run|{_WHO}(?:\s+is|'s|\s+has"
               rf"\s+run))\s+out of\s+(?P<what>(?:(?:extra|usage)\s+)*(?:usage|credits)){_TAIL}",
               _FLAGS),
    # a limit of nothing is a limit reached: "Your group's usage limit is set to $0"
    re.compile(rf"{_START}your\s+{_QUAL}limit\s+(?:is|has been)\s+(?:set\s+to\s+)?"
               rf"(?:\$0(?:\.0+)?|0|zero)\b(?!\.\d){_TAIL}", _FLAGS),
    # "Limit reached" alone is anybody's sentence: it needs a subject or a reset
    re.compile(rf"^(?:claude\s+)?{_QUAL}limit reached\b{_NO_FALLBACK}{_TAIL}", _FLAGS),
    re.compile(rf"^(?:claude\s+)?{_QUAL}limit (?:has been )?reached\.?\s*your limit will "
               r"reset at\s+(?P<reset>[^\n]+?)\.?\s*$", _FLAGS),
)
_EPOCH = re.compile(r"Claude AI usage limit reached\|(\d{9,11})")
_MENU = re.compile(r"What do you want to do\?\s*\n?.*?Stop and wait for (?:the )?limit to "
                   r"reset", re.IGNORECASE | re.DOTALL)
_NOT_LIMITS = (
    (re.compile(r"approaching\b[^\n]*\blimit|close to your\b[^\n]*\blimit", re.IGNORECASE),
     "approaching", "a warning before the limit, not the limit"),
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
    for line in lines:
        if joined and joined[-1] and line and not re.match(r"^[>$#]", line) and (
            joined[-1].endswith(("·", "∙", " at", ",", "resets", "reset", "|"))
            or re.match(r"^(resets|\(|[a-z])", line)
        ):
            joined[-1] = f"{joined[-1]} {line}"
        else:
            joined.append(line)
    return "\n".join(joined)


def kind_of(what: str | None, model: str | None = None) -> str:
    """The kind from the words that qualify the limit; a limit named only by a model
    nobody listed here (``Fable 5``) is a model limit."""
    words = f"{model or ''} {what or ''}".lower()
    for needle, kind in (("opus", "opus"), ("sonnet", "sonnet"), ("haiku", "haiku"),
                         ("weekly", "weekly"), ("monthly", "monthly"), ("org", "monthly"),
                         ("extra", "extra"), ("credit", "extra"), ("5-hour", "session"),
                         ("five-hour", "session"), ("session", "session"),
                         ("daily", "daily")):
        if needle in words:
            return kind
    if model and not re.fullmatch(rf"(?:(?:{_QUALIFIERS})\s*)+", model, re.IGNORECASE):
        return "model"
    return "usage"


def _kind(match: re.Match[str]) -> str:
    named = match.groupdict()
    return kind_of(f"{named.get('who') or ''} {named['what'] or ''}", named.get("model"))


def _bare(match: re.Match[str]) -> bool:
    """``Limit reached`` with no subject, no qualifier and no reset."""
    return (match.group("reset") is None and not (match.group("what") or "").strip()
            and not match.group(0).lower().startswith(("you", "claude")))


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
    best: tuple[int, str | None, str, str] | None = None
    for pattern in _STATEMENTS:
        for match in pattern.finditer(plain):
            if _bare(match):
                continue
            if best is None or match.start() >= best[0]:
                best = (match.start(), match.group("reset"), _kind(match), match.group(0))
    epoch = max(_EPOCH.finditer(plain), key=lambda m: m.start(), default=None)
    if epoch is not None and (best is None or epoch.start() >= best[0]):
        stamp = datetime.fromtimestamp(int(epoch.group(1)), tz=local)
        return checked("usage", stamp, clock, epoch.group(0), how="epoch reset")
    if best is not None:
        _start, reset_text, kind, line = best
        if reset_text is None:
            return checked(kind, None, clock, line, how="no reset")
        instant, how = parse_reset(reset_text, now=clock.said, local=local)
        found = checked(kind, end_of_named(instant, how), clock, line, how=how)
        return replace(found, named=instant) if found.resets_at is not None and (
            found.resets_at == end_of_named(instant, how)) else found
    if _MENU.search(plain):
        return checked("usage", None, clock, "the /rate-limit-options menu",
                        how="the limit menu")
    for pattern, kind, why in _NOT_LIMITS:
        if pattern.search(plain):
            return LimitMatch(False, kind, None, f"{why} ({pattern.pattern!r})",
                              warning=kind == "approaching")
    return LimitMatch(False, "none", None, "no usage-limit message found")


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
