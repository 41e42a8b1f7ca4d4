"""A loopback stand-in for Anthropic's API, so the real ``claude`` CLI runs offline (the
tests' ``claude_api`` fixture, the bench). Standard library only.

Each account home holds its own token (``.credentials.json``, ``claudeAiOauth``; the
sandbox writes ``sk-ant-oat01-sandbox-<account>``), and the CLI sends it as ``Authorization:
Bearer``: the stand-in tells the accounts apart by it, so a test can limit one account
and not the other, and see which account each request came from.

``/v1/messages`` answers a streamed reply carrying the subscription's rate-limit headers
(``anthropic-ratelimit-unified-5h-utilization`` ...), from which the CLI fills its status
line's ``rate_limits``; for an account in ``limited``, the 429 that makes the CLI print
its usage-limit message, write the transcript row and fire its StopFailure hooks (the
reset epoch and the window are the test's); for one in ``throttled``, a plain 429 (a
transient throttle, not a usage limit). A reply whose prompt holds ``slow_marker`` streams
for ``turn_seconds`` (a long turn: the Claude is busy all along). Every other path
answers ``{}``.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from reconciler.demo._sandbox import TOKEN_PREFIX  # the sandbox's tokens: it and the name


@dataclass(frozen=True)
class Limit:
    reset: int
    """Epoch seconds of the reset the 429 announces."""
    claim: str = "five_hour"


@dataclass(frozen=True)
class Request:
    time: float
    account: str | None
    """Whose token the request carried (None: no sandbox token)."""
    path: str
    answer: str
    """``reply``, ``limit``, ``throttle`` or ``other``."""
    prompt: tuple[str, ...]
    """The texts of the request's last user message (what this turn asks)."""
    main: bool
    """A request of the conversation itself (not a title or a quota probe)."""


@dataclass
class Api:
    limited: dict[str, Limit] = field(default_factory=dict)
    throttled: set[str] = field(default_factory=set)
    five_hour: float = 0.10
    """Utilization (0-1) of the five-hour window sent with each reply."""
    text: str = "Hello from the stand-in API."
    """What the model answers."""
    turn_seconds: float = 25.0
    slow_marker: str = "LONG TURN"
    usage: dict[str, dict[str, Any]] = field(default_factory=dict)
    """``/api/oauth/usage`` per account: ``{window: {utilization, resets_at}}``."""
    usage_refusal: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    """An account whose usage request gets this status and headers (a 429 and its
    ``retry-after``)."""
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def limit(self, account: str, seconds: float = 3 * 3600, claim: str = "five_hour") -> int:
        """From now on ``account``'s requests get the usage-limit 429; its reset epoch."""
        reset = int(time.time() + seconds)
        self.limited[account] = Limit(reset, claim)
        return reset

    def turns(self, account: str | None = None) -> list[Request]:
        """The conversation's own requests (of one account), in order."""
        with self.lock:
            return [r for r in self.requests if r.main and r.path.startswith("/v1/messages")
                    and (account is None or r.account == account)]

    def _record(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return None

            def do_GET(self) -> None:
                account = self._account()
                if self.path.startswith("/api/oauth/usage"):
                    refusal = api.usage_refusal.get(account or "")
                    api._record(Request(time.time(), account, self.path,
                                        "refused" if refusal else "usage", (), False))
                    if refusal is not None:
                        self._json(refusal[0], {"type": "error"}, refusal[1])
                    elif account is None or self.headers.get("anthropic-beta") is None:
                        self._json(401, {"type": "error", "error": {"type": "authentication"}})
                    else:
                        self._json(200, api.usage.get(account, {}))
                    return
                api._record(Request(time.time(), account, self.path, "other", (), False))
                self._json(200, {})

            def _account(self) -> str | None:
                token = self.headers.get("authorization", "").removeprefix("Bearer ").strip()
                return token.removeprefix(TOKEN_PREFIX) if token.startswith(
                    TOKEN_PREFIX) else None

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    request = json.loads(body)
                except ValueError:
                    request = {}
                account = self._account()
                prompt = _last_user_texts(request)
                main = bool(request.get("tools")) and request.get("max_tokens", 0) > 1
                if not self.path.startswith("/v1/messages"):
                    api._record(Request(time.time(), account, self.path, "other", prompt, main))
                    self._json(200, {})
                    return
                limit = api.limited.get(account or "")
                answer = ("limit" if limit is not None and limit.reset > time.time()
                          else "throttle" if account in api.throttled else "reply")
                api._record(Request(time.time(), account, self.path, answer, prompt, main))
                if answer == "limit" and limit is not None:
                    window = "7d" if limit.claim.startswith("seven_day") else "5h"
                    self._json(429, {"type": "error", "error": {
                        "type": "rate_limit_error", "message": "limit reached"}}, {
                        "anthropic-ratelimit-unified-status": "rejected",
                        "anthropic-ratelimit-unified-reset": str(limit.reset),
                        "anthropic-ratelimit-unified-representative-claim": limit.claim,
                        f"anthropic-ratelimit-unified-{window}-utilization": "1.00",
                        f"anthropic-ratelimit-unified-{window}-reset": str(limit.reset)})
                elif answer == "throttle":
                    self._json(429, {"type": "error", "error": {
                        "type": "rate_limit_error",
                        "message": "Number of request tokens has exceeded your per-minute "
                                   "rate limit"}})
                else:
                    slow = any(api.slow_marker in text for text in prompt) and main
                    self._reply(request, api.turn_seconds if slow else 0.0)

            def _json(self, code: int, value: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(value).encode()
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, header in (headers or {}).items():
                    self.send_header(key, header)
                self.end_headers()
                self.wfile.write(data)

            def _reply(self, request: dict[str, Any], seconds: float) -> None:
                now = int(time.time())
                headers = {
                    "anthropic-ratelimit-unified-status": "allowed",
                    "anthropic-ratelimit-unified-5h-utilization": f"{api.five_hour:.2f}",
                    "anthropic-ratelimit-unified-5h-reset": str(now + 3 * 3600),
                    "anthropic-ratelimit-unified-7d-utilization": "0.05",
                    "anthropic-ratelimit-unified-7d-reset": str(now + 5 * 86400)}
                message = {"id": "msg_standin", "type": "message", "role": "assistant",
                           "model": request.get("model", "claude"), "content": [],
                           "stop_reason": None, "stop_sequence": None,
                           "usage": {"input_tokens": 1, "output_tokens": 1}}
                if not request.get("stream"):
                    message.update(content=[{"type": "text", "text": "ok"}],
                                   stop_reason="end_turn")
                    self._json(200, message, headers)
                    return
                self.send_response(200)
                self.send_header("content-type", "text/event-stream")
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                self._event("message_start", {"type": "message_start", "message": message})
                self._event("content_block_start", {"type": "content_block_start", "index": 0,
                                                    "content_block": {"type": "text", "text": ""}})
                steps = max(1, int(seconds))
                for step in range(steps):  # a long turn streams all along: busy throughout
                    if seconds:
                        time.sleep(seconds / steps)
                    self._event("content_block_delta", {
                        "type": "content_block_delta", "index": 0, "delta": {
                            "type": "text_delta",
                            "text": api.text if step == steps - 1 else "."}})
                self._event("content_block_stop", {"type": "content_block_stop", "index": 0})
                self._event("message_delta", {"type": "message_delta", "delta": {
                    "stop_reason": "end_turn", "stop_sequence": None},
                    "usage": {"output_tokens": 6}})
                self._event("message_stop", {"type": "message_stop"})

            def _event(self, name: str, data: dict[str, Any]) -> None:
                try:
                    self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                    self.wfile.flush()
                except OSError:  # the Claude was stopped mid-turn: its turn is cut
                    pass

        return Handler


def _last_user_texts(request: dict[str, Any]) -> tuple[str, ...]:
    """The texts of the last user message (system reminders left out)."""
    messages = request.get("messages")
    if not isinstance(messages, list):
        return ()
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return (content,)
            return tuple(
                str(block.get("text", "")) for block in content
                if isinstance(block, dict) and block.get("type") == "text"
                and not str(block.get("text", "")).lstrip().startswith("<system-reminder>")
            ) if isinstance(content, list) else ()
    return ()


def serve(api: Api) -> threading.Thread:
    """Answer on its loopback port in a daemon thread until ``api.server.shutdown()``."""
    thread = threading.Thread(target=api.server.serve_forever, daemon=True)
    thread.start()
    return thread
