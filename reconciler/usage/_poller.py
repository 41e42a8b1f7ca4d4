"""Each account's usage from the usage endpoint, read with that account's own token, in a
thread of the service (a slow endpoint never holds a cycle).

``GET <failover.usage_url>`` with ``Authorization: Bearer <accessToken>`` and
``anthropic-beta: oauth-2025-04-20`` answers ``five_hour``, ``seven_day`` and per-model
weekly windows (``seven_day_opus`` ...), each ``{utilization (percent), resets_at}`` or
null. Rules that keep people logged in:

* the token is read from the account home's ``.credentials.json``
  (``claudeAiOauth.accessToken``; ``expiresAt`` in ms) for the request alone: never
  refreshed (a refresh rotates the refresh token and logs out every Claude holding the
  old one), never written, never copied, never in a log, a record, an alert or
  ``--json``; an expired token is not sent (the account's usage is unknown, and says so);
* one request per account per ``failover.usage_every``; a 429 backs off for at least its
  ``retry-after``; redirects are not followed (the token goes to that URL only);
* the last reading is kept with its time (``usage.json``), and the ones before it for the
  burn rate.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from reconciler.desired import DesiredState
from reconciler.statedir import StateDir, UsageRecord, UsageWindow, read_regular

BETA = "oauth-2025-04-20"
TIMEOUT = 10.0
MAX_BODY = 64 * 1024
HISTORY = 24
"""Readings kept per account: two hours at the default five minutes."""


@dataclass(frozen=True)
class Target:
    """An account to read: its name and home (the token is read at the request)."""

    account: str
    home: Path


@dataclass(frozen=True)
class Plan:
    url: str
    every: float
    targets: tuple[Target, ...]


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # a 3xx is an answer, not a place to send the token


def token_of(home: Path, now: float) -> tuple[str | None, str]:
    """(the access token, ``""``) or (None, why not): missing, unreadable, expired."""
    try:
        raw = json.loads(read_regular(home / ".credentials.json", 1 << 20))
    except (OSError, ValueError, RecursionError):
        return None, "no readable .credentials.json (not logged in)"
    oauth = raw.get("claudeAiOauth") if isinstance(raw, dict) else None
    token = oauth.get("accessToken") if isinstance(oauth, dict) else None
    if not isinstance(token, str) or not token:
        return None, "no access token (logged out)"
    expires = oauth.get("expiresAt") if isinstance(oauth, dict) else None
    if isinstance(expires, int | float) and not isinstance(expires, bool) and \
            expires <= now * 1000:  # not expires / 1000: an int no float holds overflows
        return None, ("its token has expired; the reconciler never refreshes one (Claude "
                      "does, at its next start on that account)")
    return token, ""


def parse_usage(body: Any) -> tuple[UsageWindow, ...]:
    """The windows of an answer: ``{name: {utilization, resets_at}}``; others skipped."""
    windows = []
    for name, value in (body.items() if isinstance(body, dict) else ()):
        if not isinstance(value, dict):
            continue
        used = value.get("utilization")
        if not isinstance(used, int | float) or isinstance(used, bool) or not 0 <= used <= 1000:
            continue
        windows.append(UsageWindow(str(name)[:40], float(used), _instant(value.get("resets_at"))))
    return tuple(sorted(windows, key=lambda w: w.name))


def _instant(value: Any) -> datetime | None:
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value, tz=UTC)
        if isinstance(value, str):
            found = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return found if found.tzinfo else found.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


def _retry_after(header: str | None, now: datetime) -> datetime:
    """At least what the endpoint asked (seconds or an HTTP date), at least a minute."""
    seconds = 60.0
    if header:
        try:
            seconds = max(seconds, float(header))
        except ValueError:
            from email.utils import parsedate_to_datetime  # noqa: PLC0415

            with contextlib.suppress(TypeError, ValueError):
                seconds = max(seconds, (parsedate_to_datetime(header) - now).total_seconds())
    return now + timedelta(seconds=min(seconds, 86400))


def read_once(url: str, token: str, now: datetime,
              opener: urllib.request.OpenerDirector) -> tuple[tuple[UsageWindow, ...] | None,
                                                          str, datetime | None]:
    """(windows, note, retry after): one request; the note says what went wrong."""
    request = urllib.request.Request(url, headers={  # noqa: S310  (the URL is the user's)
        "Authorization": f"Bearer {token}", "anthropic-beta": BETA,
        "Accept": "application/json", "User-Agent": "reconciler"})
    try:
        with opener.open(request, timeout=TIMEOUT) as answer:
            body = json.loads(answer.read(MAX_BODY))
    except urllib.error.HTTPError as exc:
        if exc.code == 429:
            return None, "the usage endpoint asked to wait (429)", _retry_after(
                exc.headers.get("retry-after") if exc.headers else None, now)
        return None, f"the usage endpoint answered {exc.code}", None
    except urllib.error.URLError as exc:
        return None, f"the usage endpoint could not be reached ({exc.reason})", None
    except (OSError, ValueError, RecursionError) as exc:
        return None, f"the usage endpoint's answer could not be read ({exc})", None
    except http.client.HTTPException as exc:  # not HTTP, or cut short; its words are the
        # server's (an echo of the request would hold the token): only their kind is said
        return None, f"the usage endpoint's answer could not be read ({type(exc).__name__})", None
    return parse_usage(body), "", None


class UsagePoller:
    """Reads every account's usage on its own schedule; ``run`` is the thread's body."""

    def __init__(self, state_dir: Path, say: Callable[[str], None],
                 clock: Callable[[], float] = time.time) -> None:
        self.state = StateDir(state_dir)
        self.say = say
        self.clock = clock
        self.plan: Plan | None = None
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None
        self.opener = urllib.request.build_opener(_NoRedirect)

    def configure(self, plan: Plan | None) -> None:
        """What to read (None: nothing); takes effect at once."""
        if plan != self.plan:
            self.plan = plan
            self.wake.set()

    def start(self) -> None:
        self.thread = threading.Thread(target=self.run, name="usage", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout=1.0)  # a request in flight dies with the process

    def run(self) -> None:
        while not self.stopping.is_set():
            left = self.step()
            self.wake.wait(timeout=left)
            self.wake.clear()

    def step(self) -> float:
        """Read every account that is due; seconds until the next one is."""
        plan = self.plan
        if plan is None:
            return 3600.0
        records = self.state.read_usage_records()
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        changed = False
        for target in plan.targets:
            old = records.get(target.account)
            if not _due(old, now, plan.every) or self.stopping.is_set():
                continue
            records[target.account] = self.read(target, plan.url, now, old)
            changed = True
        if changed:
            try:
                self.state.write_usage_records(records)
            except OSError as exc:
                self.say(f"usage not recorded: {exc}")
        return max(1.0, min(_next_due(records.get(t.account), now, plan.every)
                            for t in plan.targets) if plan.targets else 3600.0)

    def read(self, target: Target, url: str, now: datetime,
             old: UsageRecord | None) -> UsageRecord:
        token, why = token_of(target.home, now.timestamp())
        kept = old or UsageRecord(target.account, None, "none")
        again = now + timedelta(seconds=self.plan.every if self.plan else 300)
        if token is None:  # not sent: asked again at the next turn, maybe logged in then
            return replace(kept, note=why, retry_after=again)
        windows, note, retry = read_once(url, token, now, self.opener)
        if windows is None:
            return replace(kept, note=note, retry_after=max(retry or again, again))
        history = (*kept.history, (now, tuple((w.name, w.used) for w in windows)))
        return UsageRecord(target.account, now, "usage endpoint", windows, "", None,
                           history[-HISTORY:])


def _due(record: UsageRecord | None, now: datetime, every: float) -> bool:
    return _next_due(record, now, every) <= 0


def _next_due(record: UsageRecord | None, now: datetime, every: float) -> float:
    """Seconds until the account may be asked again: after a refusal or a failure, not
    before ``retry_after``; after a reading, ``every`` after it."""
    if record is None:
        return 0.0
    if record.retry_after is not None:
        return (record.retry_after - now).total_seconds()
    if record.read_at is None:
        return 0.0
    return every - (now - record.read_at).total_seconds()


def plan_of(desired: DesiredState) -> Plan:
    """What the service's desired state asks to read."""
    return Plan(desired.failover.usage_url, desired.failover.usage_every.total_seconds(),
                tuple(Target(a.name, a.home) for a in desired.accounts))


