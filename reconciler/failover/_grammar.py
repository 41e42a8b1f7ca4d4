"""The grammar of a usage-limit statement: a head that says the usage is used up, then a
tail of segments, each a reset, a remedy or a status, up to the end of the line.

Kept apart from ``_detect`` (which normalises the text, picks the last statement and
reads its reset) because the words are most of the code: each family below is one
way Claude Code 2.1.197 to 2.1.337 says that an account cannot go on.

The tail is what makes it a statement rather than prose about a limit: every segment
after the head must be one the grammar knows, so "You've hit your usage limit · what
now?" and "You've hit your monthly spend limit? Check settings." are not limits.
Segments are split on separators (`` · ``, `` — ``, `` | ``, a sentence's ``. ``) and
are at most ``_LONGEST`` characters, and a tail is read once per position whatever the
number of heads before it (``_Tails``), so a 100 KB line costs one pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

_FLAGS = re.IGNORECASE | re.MULTILINE
QUALIFIERS = (r"5-hour|five-hour|session|weekly|daily|monthly|opus|sonnet|haiku|model|org's|"
              r"organization's|team's|group's|workspace's|channel's|extra|usage|credits?|"
              r"plan|spend|spending|individual|member|pooled|group")
_QUAL = rf"(?P<what>(?:(?:{QUALIFIERS})\s+)*)"
# a model's name is capitalised words and versions; these capitalised words name limits
# that are not a model's usage (a context, a rate, a token count, an agent budget)
_NOT_MODEL = (r"(?!(?:context|rate|tokens?|requests?|api|output|input|recursion|retry|turns?|"
              r"time|file|size|length|memory|prompt|messages?|calls?|concurren\w*|budget|fast|"
              r"agents?|subagents?|nesting|depth|publish\w*|artifacts?|export|watch|device|"
              r"auto|compaction|this|that|the|max)\b)")
_WORD = rf"{_NOT_MODEL}(?-i:[A-Z][\w.-]*)"
_NAME = rf"{_WORD}(?:\s+(?:{_WORD}|\d[\w.]*)){{0,3}}"
_MODEL = rf"(?P<model>{_NAME}\s+)?"
# a statement, not a quotation or a condition ("if you're out of usage, ...")
_START = r"(?<![\w\"'])(?<!\bif )(?<!\bwhen )(?<!\bonce )(?<!\bunless )(?<!\buntil )"
_WHO = r"(?P<who>your\s+(?:org|organi[sz]ation|team|group|workspace)\b)"
_ORG = r"(?P<who>your\s+(?:org|organi[sz]ation)\b)"
# line-start prefixes: the error banner, a gateway's pass-through, the spinner glyph
_LEAD = (r"^(?:api\s+error:\s*)?(?:request\s+rejected\s+\(\d{3}\)\s*·\s*)?"
         r"(?:[✢✳✶✻✽*·]\s*)?")
# a time as Claude prints it: "2:12am", "Dec 10, 6pm", "Jan 2, 2027, 9am", "(UTC)"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]{0,6}\.?"
_HOUR = r"(?:\d{1,2}(?::\d{2})?\s?(?:[ap]m\b|[ap]\.m\.)|\d{1,2}:\d{2})"
TIME = (rf"(?:{_MONTH}\s+\d{{1,2}}(?:,\s*\d{{4}})?(?:,?\s+(?:at\s+)?{_HOUR})?|{_HOUR})"
        r"(?:\s*\([\w/+-]{1,40}\)|\s+utc\b)?")

_HEADS: tuple[tuple[str, re.Pattern[str]], ...] = tuple((family, re.compile(pattern, _FLAGS))
                                                       for family, pattern in (
    # "your limit" is Claude's; "the limit" only with what limit it is ("the limit" alone
    # is how anyone talks about anything); a budget only with whose it is
    ("hit", rf"{_START}(?:you(?:'ve| have)|{_WHO}\s+has)\s+(?:hit|reached|exceeded|used up)"
            rf"\s+(?:(?:your|its|their)\s+{_MODEL}|the\s+(?=(?:{QUALIFIERS})\s)){_QUAL}"
            r"(?P<noun>limit|budget)\b(?:\s+for\s+this\s+(?:week|month|period))?"),
    ("out", rf"{_START}(?:you(?:'re| are)\s+|you(?:'ve| have)\s+run\s+|{_WHO}(?:\s+is|'s|\s+has"
            r"\s+run)\s+|^)out of\s+(?P<what>(?:(?:extra|usage)\s+)*(?:usage|credits))"
            r"(?:\s+for\s+claude(?:\s+code)?)?"),
    ("out", rf"{_START}(?:your\s+)?(?P<what>(?:extra\s+usage|(?:usage\s+)?credits))\s+ran\s+out"
            r"(?:\s+before\s+the\s+response\s+was\s+finished)?"),
    # a limit of nothing is a limit reached: "Your group's usage limit is set to $0"
    ("hit", rf"{_START}your\s+{_QUAL}limit\s+(?:is|has been)\s+(?:set\s+to\s+)?"
            r"(?:\$0(?:\.0+)?|0|zero)\b(?!\.\d)"),
    ("hit", rf"{_START}{_WHO}'s\s+{_QUAL}(?P<noun>limit|cap|budget)\s+(?:is|has\s+been)\s+reached"
            r"(?:\s+for\s+this\s+(?:period|month|week))?"),
    ("hit", rf"{_START}this\s+request\s+exceeds\s+your\s+{_QUAL}(?P<noun>limit|budget)\b"),
    # "Limit reached" alone is anybody's sentence: it needs a qualifier, a reset, or a
    # model and a status only a limit has (``Statement.bare``)
    ("reached", rf"{_LEAD}(?:claude\s+)?{_MODEL}{_QUAL}limit\s+(?:has\s+been\s+)?reached"
                r"(?:\s+again)?\b"),
    ("paused", r"^(?:(?:goal|workflow|task)\s+)?paused\s*·\s*(?P<what>usage)\s+limit"
               r"(?:\s+reached)?\b"),
    ("paused", r"^(?:(?:goal|workflow|task)\s+)?paused(?=\s*·\s*continues\s)"),
    # refusals that are not a limit's words but stop the account all the same
    ("block", rf"{_START}your\s+seat\s+type\s+(?:doesn't|does\s+not)\s+include\s+"
              r"(?P<what>(?:extra\s+)?usage(?:\s+credits)?)"),
    ("block", rf"{_START}this\s+service\s+is\s+disabled\s+for\s+{_ORG}"),
    ("block", rf"{_START}your\s+(?P<what>usage)\s+allocation\s+has\s+been\s+disabled"
              r"(?:\s+by\s+your\s+admin)?"),
    ("block", rf"{_START}(?:your\s+)?usage\s+is\s+paused\s+for\s+{_ORG}"),
    ("block", rf"{_START}{_ORG}\s+has\s+disabled\s+(?:claude\s+)?subscription\s+access"
              r"(?:\s+for\s+claude(?:\s+code)?)?"),
    ("block", r"^your\s+(?:claude(?:\s+code)?\s+)?trial\s+has\s+ended"),
    ("block", r"^(?:api\s+error:\s*)?(?:your\s+)?(?P<what>credit)\s+balance\s+(?:is\s+)?too\s+low"),
    # a model that needs credits the account has not got
    ("block", rf"^(?:api\s+error:\s*)?(?P<model>{_NAME})\s+(?:now\s+)?(?:requires|needs)\s+usage"
              r"\s+credits(?:,\s+which\s+your\s+(?:admin|org|organi[sz]ation)\s+(?:manages|has"
              r"\s+used\s+up))?"),
    ("block", rf"{_START}claude\s+stopped\s+here\s+because\s+(?P<model>{_NAME})\s+(?:now\s+)?"
              r"requires\s+usage\s+credits"),
    ("block", rf"{_START}(?:your\s+)?model\s+policy\s+only\s+allows\s+(?P<model>{_NAME}),\s+"
              r"which\s+requires\s+usage\s+credits"),
    # the wait for the reset, armed, running or called off (2.1.337); a login that changed
    # is not this account's limit, so that reason never makes one
    ("auto", rf"^continuing\s+automatically\s+(?:at\s+(?P<reset>{TIME})|when\s+(?:it|the\s+"
             r"(?:usage\s+)?limit)\s+resets)"),
    ("auto", rf"{_START}(?:claude(?:\s+code)?\s+)?will\s+continue\s+automatically\s+at\s+"
             rf"(?P<reset>{TIME})"),
    ("auto", r"^automatic\s+continue\s+(?:was\s+)?(?:cancell?ed|stopped|turned\s+off)"
             r"(?:\s+after\s+repeated\s+usage[\s-]limit\s+hits)?(?![^\n]{0,400}?\b(?:login|"
             r"log(?:ged)?\s+(?:in|out)|sign(?:ed)?[\s-](?:in|out)|account)\b)"),
))

_TEXT = r"(?:[^\"?\n]|(?<=[\w/=])\?(?=[\w%]))"
"""Free text in a segment: no quotes, no question (a URL's query string is not one)."""
_VERB = (r"(?:ask|contact|raise|increase|add|buy|purchase|upgrade|request|visit|go\s+to|"
         r"enable|turn\s+on|manage|wait|check|run|switch|see|use|send|press|keep|try\s+again|"
         r"learn\s+more|esc|enter|/[a-z][\w-]*|(?:(?:your|an?|the)\s+[\w' ]{1,40}?|whoever\s+"
         r"manages\s+[\w ]{1,20}?)\s+can\s+(?:raise|add|enable|increase|turn\s+on|manage|buy))\b")
_RESET = r"(?P<reset>[^\"?\n]{1,100})"
# each segment: (pattern, names the plan limit's own reset, only a limit says it)
_SEGMENTS: tuple[tuple[re.Pattern[str], bool, bool], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), plan, strong) for pattern, plan, strong in (
        # "your 5-hour limit resets 2:12am" after a spend cap: the account is usable then
        (rf"your\s+(?:[\w'-]+\s+){{1,3}}limit\s+(?:will\s+)?resets?(?:\s+(?:at|on))?\s+{_RESET}",
         True, True),
        (rf"(?:(?:(?:the|your)\s+)?(?:(?:usage|plan)\s+)?limit\s+|it\s+)?(?:will\s+)?resets?"
         rf"(?:\s+(?:at|on))?\s+{_RESET}", False, False),
        # a remedy: an imperative, maybe after a purpose ("To keep going, switch models"),
        # maybe ending in when it resets ("or try again after it resets on Jan 1")
        (rf"(?:(?:to|for)\s+[^,\n]{{1,60}},\s+)?(?:(?:please|or|then)\s+)*{_VERB}{_TEXT}*?"
         rf"(?:,?\s+or\s+(?:try\s+again\s+after\s+)?it\s+resets?\s+(?:on\s+|at\s+)?{_RESET})?",
         False, False),
        (r"(?:switch|change)\s+models?\?", False, False),
        (r"progress\s+saved|wrapping\s+up|attempt\s+\d+\s*/\s*\d+|out\s+of\s+(?:(?:extra|usage)"
         r"\s+)*(?:usage|credits)", False, False),
        (r"(?:https?://)?[\w-]+(?:\.[\w-]+)+(?:/[^\s\"]*)?", False, False),
        # going on, on credits, is no stop: only "Claude stopped here" makes it one
        (r"continuing\s+on\s+[\w .-]{1,40}?\s+uses\s+usage\s+credits", False, False),
        (r"claude\s+stopped\s+here", False, True),
        (rf"workflow\s+paused(?:;\s*{_TEXT}{{1,160}})?", False, True),
        (rf"retrying(?:…|\.\.\.)?(?:\s+in\s+(?:\d+\s*[dhms]\s*){{1,3}})?(?:\s*\((?P<reset>{TIME})"
         r"\))?", False, True),
        (rf"set\s+to\s+continue\s+automatically\s+(?:at\s+(?P<reset>{TIME})|shortly|when\s+(?:it|"
         r"the\s+(?:usage\s+)?limit)\s+resets)", False, True),
        (rf"continues\s+(?:automatically\s+)?(?:after|when)\s+(?:it|(?:the|your)\s+(?:usage\s+)?"
         rf"limit)\s+resets(?:\s+(?:at|on)\s+(?P<reset>{TIME}))?", False, True),
        # why the wait was called off: the limit stands, the task will not resume itself
        (rf"(?:{_TEXT}{{1,160}}?(?:,\s*so|;)\s+)?(?:this|the)\s+task\s+will\s+not\s+resume"
         r"(?:\s+here)?\s+on\s+its\s+own(?:\s+when\s+the\s+usage\s+limit\s+resets)?"
         r"(?:\s*\([^()\n]{1,100}\))?", False, True),
        (rf"your\s+session\s+will\s+wait\s+for\s+you\s+instead(?:;\s*{_TEXT}{{1,100}})?",
         False, True),
    ))
_SEP = re.compile(r"[ \t]*[·∙•|\u2014][ \t]*|[ \t]+[\u2013-][ \t]+|\.[ \t]+(?=\S)")
_LONGEST = 300
_BODY = re.compile(r"(?:(?![ \t]*[·∙•|\u2014]|[ \t]+[\u2013-][ \t]|\.[ \t]+\S|[.!]?[ \t]*"
                   rf"(?:\n|\Z))[^\n]){{1,{_LONGEST}}}")
_END = re.compile(r"[.!]?[ \t]*(?:\n|\Z)")
_JUNCTION = re.compile(r",?[ \t]+(?=(?:it\s+)?resets?\b|(?:your\s+)?limit\s+will\s+reset\b)",
                       re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Tail:
    reset: str | None
    plan: bool
    """The reset is the plan limit's own ("your 5-hour limit resets ...")."""
    strong: bool
    """A segment only a limit has (a retry banner, "Claude stopped here")."""

    def then(self, rest: Tail) -> Tail:
        """This segment followed by ``rest``: the plan limit's reset wins, else the first."""
        keep = self if self.reset is not None and (self.plan or not rest.plan) else rest
        return Tail(keep.reset, keep.plan, self.strong or rest.strong)


_EMPTY = Tail(None, False, False)


def segment(text: str) -> Tail | None:
    """What one segment says, or None: not a segment of a limit's tail."""
    for pattern, plan, strong in _SEGMENTS:
        match = pattern.fullmatch(text)
        if match is not None:
            reset = match.groupdict().get("reset")
            return Tail(reset.strip() if reset else None, plan and reset is not None, strong)
    return None


class _Tails:
    """Tails of one text, each read once: from a separator at ``at`` to the end of the
    line, or None where a segment is not the grammar's."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.memo: dict[int, Tail | None] = {}

    def after(self, at: int) -> Tail | None:
        junction = _JUNCTION.match(self.text, at)
        if junction is None:
            return self.from_separator(at)
        return self.segment_then(junction.end())

    def segment_then(self, start: int) -> Tail | None:
        body = _BODY.match(self.text, start)
        if body is None:
            return None
        said = segment(body.group(0).strip())
        if said is None:
            return None
        rest = self.from_separator(body.end())
        return None if rest is None else said.then(rest)

    def from_separator(self, at: int) -> Tail | None:
        path: list[int] = []
        result: Tail | None = _EMPTY
        position = at
        while position not in self.memo:
            if _END.match(self.text, position):
                break
            separator = _SEP.match(self.text, position)
            body = _BODY.match(self.text, separator.end()) if separator else None
            said = segment(body.group(0).strip()) if body else None
            if body is None or said is None:
                result = None
                break
            path.append(position)
            self.memo[position] = said  # the segment alone, until the rest is known
            position = body.end()
        else:
            result = self.memo[position]
        for start in reversed(path):
            said = self.memo[start]
            result = None if result is None or said is None else said.then(result)
            self.memo[start] = result
        return result


@dataclass(frozen=True)
class Statement:
    start: int
    family: str
    who: str
    what: str
    model: str | None
    reset: str | None
    line: str

    @property
    def bare(self) -> bool:
        """A statement with nothing to say whose limit it is or when it ends."""
        return self.reset is None and not self.what.strip() and not self.who and (
            self.family == "reached" and self.model is None)


def statements(plain: str) -> Iterator[Statement]:
    """Every well-formed limit statement in normalised text, last first."""
    tails = _Tails(plain)
    heads = sorted(((match.start(), family, match) for family, pattern in _HEADS
                    for match in pattern.finditer(plain)), key=lambda h: -h[0])
    for start, family, match in heads:
        tail = tails.after(match.end())
        if tail is None:
            continue
        named = match.groupdict()
        what, model, noun = named.get("what") or "", named.get("model"), named.get("noun")
        if noun == "budget" and not what.strip():
            continue
        what = f"{what}{noun}" if noun in ("budget", "cap") else what
        if family == "reached" and model and not what.strip() and not (
                tail.reset or tail.strong):
            continue  # "Agent limit reached": a capitalised word is not yet a model
        own = named.get("reset")
        reset = tail.reset if tail.plan or own is None else own
        end = plain.find("\n", match.end(), match.end() + _LONGEST * 4)
        found = Statement(start, family, named.get("who") or "", what, model, reset,
                          plain[start:end if end >= 0 else match.end() + _LONGEST * 4])
        if not found.bare:
            yield found
