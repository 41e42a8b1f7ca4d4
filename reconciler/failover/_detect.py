"""Recognise Claude's usage-limit messages, and only those.

Wordings differ across CLI versions; all known ones are matched here after the
text is normalised (ANSI and box drawing stripped, wrapped lines joined, curly
apostrophes and bullet separators folded). Rate limits, overloads and
"approaching" warnings are not limits.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from reconciler.failover._reset import parse_reset

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*(?:\x07|\x1b\\)")
_BOX = re.compile(r"[\u2500-\u259f\u25cf\u23bf]")
_SEP = r"\s*[·∙•|-]\s*"
_EPOCH = re.compile(r"Claude AI usage limit reached\|(\d{9,11})")
_LEGACY = re.compile(
    r"Claude usage limit reached\.?\s*Your limit will reset at\s+(?P<reset>.+?)\.?\s*$",
    re.IGNORECASE | re.MULTILINE)
_REACHED = re.compile(
    rf"(?P<what>5-hour|weekly|daily|session|Opus weekly|Sonnet weekly|Opus|Sonnet)\s+limit "
    rf"reached{_SEP}resets\s+(?P<reset>.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_HIT = re.compile(
    rf"You've hit your\s+(?:(?P<what>[\w-]+(?:\s+weekly)?)\s+)?limit{_SEP}resets\s+"
    rf"(?P<reset>.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_APPROACHING = re.compile(r"Approaching (?:\w+ )?(?:usage )?limit", re.IGNORECASE)
_NOT_LIMITS = (
    re.compile(r"Rate limit reached", re.IGNORECASE),
    re.compile(r"temporarily limiting requests", re.IGNORECASE),
    re.compile(r"\b529\b.*Overloaded|Overloaded", re.IGNORECASE),
)


@dataclass(frozen=True)
class LimitMatch:
    limit: bool
    kind: str
    resets_at: datetime | None
    reason: str
    warning: bool = False
    text: str = ""

    def to_json(self) -> dict[str, object]:
        return {"limit": self.limit, "kind": self.kind,
                "resets_at": self.resets_at.isoformat() if self.resets_at else None,
                "reason": self.reason}


def normalise(text: str) -> str:
    """Plain text as a person reads it off the pane."""
    text = _ANSI.sub("", text).replace("\u2019", "'").replace("\u2018", "'")
    text = _BOX.sub(" ", text).replace("\u2219", "·").replace("\r", "")
    lines = [re.sub(r"[ \t]+", " ", line).strip() for line in text.split("\n")]
    joined: list[str] = []
    for line in lines:
        if joined and joined[-1] and line and not re.match(r"^[>$#]", line) and (
            joined[-1].endswith(("·", "∙", "at", ",", "resets", "reset", "|"))
            or re.match(r"^(resets|\(|[a-z])", line)
        ):
            joined[-1] = f"{joined[-1]} {line}"
        else:
            joined.append(line)
    return "\n".join(joined)


def _kind(what: str | None) -> str:
    word = (what or "").lower()
    if "opus" in word:
        return "opus"
    if "sonnet" in word:
        return "sonnet"
    if "weekly" in word:
        return "weekly"
    if word in {"5-hour", "session"}:
        return "session"
    if word == "daily":
        return "daily"
    return "usage"


def detect(
    text: str, *, now: datetime, local: tzinfo, default_reset: timedelta = timedelta(hours=5)
) -> LimitMatch:
    """The last usage-limit message in ``text``, with its reset instant."""
    plain = normalise(text)
    best: tuple[int, str, str | None, str] | None = None
    for pattern, what_group in ((_LEGACY, None), (_REACHED, "what"), (_HIT, "what")):
        for match in pattern.finditer(plain):
            what = match.group(what_group) if what_group else None
            if best is None or match.start() >= best[0]:
                best = (match.start(), match.group("reset"), what, match.group(0))
    epoch = None
    for match in _EPOCH.finditer(plain):
        if best is None or match.start() >= best[0]:
            epoch, best = match, None
    if epoch is not None:
        stamp = datetime.fromtimestamp(int(epoch.group(1)), tz=local)
        return _checked("usage", stamp, now, default_reset, epoch.group(0), how="epoch reset")
    if best is not None:
        _start, reset_text, what, line = best
        instant, how = parse_reset(reset_text, now=now, local=local)
        return _checked(_kind(what), instant, now, default_reset, line, how=how)
    if _APPROACHING.search(plain):
        return LimitMatch(False, "approaching", None, "approaching the usage limit (warning only)",
                          warning=True)
    for pattern in _NOT_LIMITS:
        if pattern.search(plain):
            return LimitMatch(False, "not_a_limit", None,
                              f"{pattern.pattern!r}: a transient API limit, not a usage limit")
    return LimitMatch(False, "none", None, "no usage-limit message found")


def _checked(kind: str, instant: datetime | None, now: datetime, default: timedelta,
             line: str, *, how: str) -> LimitMatch:
    """A reset in the past or more than 8 days out is implausible: use the default."""
    if instant is None or instant < now - timedelta(minutes=5) or instant > now + timedelta(days=8):
        fallback = now + default
        why = "unparsable" if instant is None else f"implausible ({instant.isoformat()})"
        return LimitMatch(True, kind, fallback,
                          f"{kind} limit: reset {why}; assuming {fallback.isoformat()}", text=line)
    return LimitMatch(True, kind, instant, f"{kind} limit, resets {instant.isoformat()} ({how})",
                      text=line)
