"""Where alerts go: the log always, plus command, webhook and Telegram sinks.

A sink has a timeout and a few retries; its failure is logged (with secrets
redacted) and never stops the loop.
"""

from __future__ import annotations

import collections
import json
import logging
import os
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tenacity import Retrying, stop_after_attempt, wait_exponential

from reconciler.alerts._book import Alert
from reconciler.desired import (
    AlertSinkSpec,
    CommandSinkSpec,
    TelegramSinkSpec,
    WebhookSinkSpec,
)

log = logging.getLogger("reconciler.alerts")
TELEGRAM_API = "https://api.telegram.org"


class Sink(Protocol):
    @property
    def name(self) -> str: ...

    def send(self, alert: Alert) -> None: ...


@dataclass(frozen=True)
class CommandSink:
    """Runs an argv (no shell) with the alert on stdin as one JSON line (NDJSON: a sink
    that appends stdin to a file gets one object per line)."""

    argv: tuple[str, ...]
    timeout: float = 5.0
    name: str = "command"

    def send(self, alert: Alert) -> None:
        line = json.dumps(alert.to_json()) + "\n"
        subprocess.run(self.argv, input=line.encode(), check=True, timeout=self.timeout,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an error: following one would send the alert, and its headers (an
    Authorization token), to wherever the answer points."""

    def redirect_request(  # noqa: PLR0917  (the signature urllib calls)
            self, req: urllib.request.Request, fp: Any, code: int, msg: str,
            headers: Any, newurl: str) -> None:
        where = urllib.parse.urlsplit(newurl)
        raise urllib.error.HTTPError(
            req.full_url, code, f"{msg}: redirect to {where.scheme}://{where.netloc} not "
            "followed (set the final URL in the desired file)", headers, fp)


def _opener() -> urllib.request.OpenerDirector:
    """http and https only (no file:, ftp: or data:), proxies from the environment, and
    no redirects."""
    opener = urllib.request.OpenerDirector()
    for handler in (urllib.request.ProxyHandler(), urllib.request.HTTPHandler(),
                    urllib.request.HTTPSHandler(), urllib.request.HTTPDefaultErrorHandler(),
                    urllib.request.HTTPErrorProcessor(), _NoRedirect()):
        opener.add_handler(handler)
    return opener


def _post_json(url: str, body: Mapping[str, Any], timeout: float,
               headers: Mapping[str, str] | None = None) -> None:
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise ValueError(f"{scheme or 'no'} scheme: alerts go over http or https only")
    request = urllib.request.Request(  # noqa: S310  (the scheme is checked above)
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with _opener().open(request, timeout=timeout) as response:
        response.read()


@dataclass(frozen=True)
class WebhookSink:
    url: str
    timeout: float = 5.0
    headers: tuple[tuple[str, str], ...] = ()
    name: str = "webhook"

    def send(self, alert: Alert) -> None:
        _post_json(self.url, alert.to_json(), self.timeout, dict(self.headers))


@dataclass(frozen=True)
class TelegramSink:
    chat_id: str
    token: str
    api_base: str = TELEGRAM_API
    timeout: float = 5.0
    name: str = "telegram"

    def send(self, alert: Alert) -> None:
        icon = "🔥" if alert.state == "firing" else "✅"
        text = f"{icon} [{alert.kind}] {alert.subject}: {alert.message}"
        url = f"{self.api_base.rstrip('/')}/bot{self.token}/sendMessage"
        _post_json(url, {"chat_id": self.chat_id, "text": text}, self.timeout)

    def __repr__(self) -> str:
        return f"TelegramSink(chat_id={self.chat_id!r}, token=<redacted>)"


def _telegram_token(spec: TelegramSinkSpec, environ: Mapping[str, str]) -> str:
    if spec.token_file is not None:
        return spec.token_file.read_text().strip()
    return environ.get(spec.token_env, "")


def build_sinks(
    specs: Sequence[AlertSinkSpec], environ: Mapping[str, str] | None = None
) -> tuple[list[Sink], list[str]]:
    """Sinks from the typed ``alerts`` section; plus problems (a missing token) to report."""
    env = os.environ if environ is None else environ
    sinks: list[Sink] = []
    problems: list[str] = []
    for index, spec in enumerate(specs):
        if isinstance(spec, CommandSinkSpec):
            sinks.append(CommandSink(spec.argv, spec.timeout))
        elif isinstance(spec, WebhookSinkSpec):
            sinks.append(WebhookSink(spec.url, spec.timeout, spec.headers))
        else:
            try:
                token = _telegram_token(spec, env)
            except OSError as exc:
                token = ""
                problems.append(f"alerts[{index}]: cannot read token_file: {exc.strerror}")
            if not token:
                problems.append(f"alerts[{index}]: telegram token is not set "
                                f"(${spec.token_env} or token_file)")
                continue
            sinks.append(TelegramSink(spec.chat_id, token, spec.api_base, spec.timeout))
    return sinks, problems


def redact(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "<redacted>")
    return text


class Deliveries:
    """Alerts leave the loop: each is logged at once, in order, and handed to a worker
    thread that delivers it to the sinks. A sink that never answers holds only that
    thread: a swap never waits on it, and the service still stops in time. The queue is
    bounded; when it is full the oldest waiting alert is dropped, and counted."""

    def __init__(self, dispatcher: Dispatcher, limit: int = 100) -> None:
        self.dispatcher = dispatcher
        self.queue: collections.deque[Alert] = collections.deque()
        self.limit = limit
        self.dropped = 0
        self.ready = threading.Condition()
        self.closing = False
        self.thread = threading.Thread(target=self._work, name="alerts", daemon=True)
        self.thread.start()

    def send(self, alert: Alert) -> None:
        self.dispatcher.log(alert)
        if not self.dispatcher.sinks:
            return
        with self.ready:
            if len(self.queue) >= self.limit:
                self.queue.popleft()
                self.dropped += 1
                self.dispatcher.log_line(f"alert queue full: dropped the oldest waiting alert "
                                         f"({self.dropped} dropped so far)")
            self.queue.append(alert)
            self.ready.notify()

    def _work(self) -> None:
        while True:
            with self.ready:
                while not self.queue and not self.closing:
                    self.ready.wait()
                if not self.queue:
                    return
                alert = self.queue.popleft()
            self.dispatcher.deliver(alert)

    def close(self, timeout: float = 1.0) -> None:
        """Deliver what is waiting, for at most ``timeout`` seconds; then leave the rest
        (the thread dies with the process)."""
        with self.ready:
            self.closing = True
            self.ready.notify()
        self.thread.join(timeout)


class Dispatcher:
    """Sends each alert to the log and to every sink; a failing sink is only logged."""

    def __init__(self, sinks: Sequence[Sink], *, attempts: int = 3, first_wait: float = 0.2,
                 log_line: Callable[[str], None] | None = None,
                 secrets: Sequence[str] = ()) -> None:
        self.sinks = list(sinks)
        self.attempts = attempts
        self.first_wait = first_wait
        self.log_line = log_line or log.warning
        self.secrets = [*(getattr(s, "token", "") for s in self.sinks), *secrets]
        self.failed = 0

    def send(self, alert: Alert) -> None:
        self.log(alert)
        self.deliver(alert)

    def log(self, alert: Alert) -> None:
        self.log_line(redact(
            f"alert {alert.state} {alert.kind} {alert.subject}: {alert.message}", self.secrets))

    def deliver(self, alert: Alert) -> None:
        """To every sink, each retried; a failure is logged, never raised."""
        for sink in self.sinks:
            try:
                for attempt in Retrying(stop=stop_after_attempt(self.attempts), reraise=True,
                                        wait=wait_exponential(multiplier=self.first_wait, max=2)):
                    with attempt:
                        sink.send(alert)
            except Exception as exc:  # noqa: BLE001  (a sink must never stop the loop)
                self.failed += 1
                self.log_line(redact(f"alert sink {sink.name} failed: {exc}", self.secrets))
