"""A loopback stand-in for Anthropic's API, so the real ``claude`` CLI runs offline in
tests (a pytest plugin: the ``claude_api`` fixture).

``/v1/messages`` answers a streamed reply carrying the subscription's rate-limit
headers (``anthropic-ratelimit-unified-5h-utilization`` ...), from which the CLI fills
its status line's ``rate_limits``; or, in ``limit`` mode, the 429 that makes 2.1.197
print ``You've hit your session limit``, open its limit menu, write the transcript row
and fire its StopFailure hooks. Every other path answers ``{}``.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest


class Api:
    def __init__(self) -> None:
        self.mode = "reply"
        self.five_hour = 0.10
        """Utilization (0-1) of the five-hour window sent with each reply."""
        self.text = "Hello from the stand-in API."
        """What the model answers."""
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.port = self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return None

            def do_GET(self) -> None:
                api.requests.append(f"GET {self.path}")
                self._json(200, {})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                try:
                    request = json.loads(body)
                except ValueError:
                    request = {}
                api.requests.append(f"POST {self.path} {api.mode}")
                if not self.path.startswith("/v1/messages"):
                    self._json(200, {})
                elif api.mode == "limit":
                    self._limit()
                else:
                    self._reply(request)

            def _json(self, code: int, value: Any, headers: dict[str, str] | None = None) -> None:
                data = json.dumps(value).encode()
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for key, header in (headers or {}).items():
                    self.send_header(key, header)
                self.end_headers()
                self.wfile.write(data)

            def _limit(self) -> None:
                self._json(429, {"type": "error", "error": {
                    "type": "rate_limit_error", "message": "limit reached"}}, {
                    "anthropic-ratelimit-unified-status": "rejected",
                    "anthropic-ratelimit-unified-reset": str(int(time.time()) + 3 * 3600),
                    "anthropic-ratelimit-unified-representative-claim": "five_hour"})

            def _reply(self, request: dict[str, Any]) -> None:
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
                for name, data in (
                    ("message_start", {"type": "message_start", "message": message}),
                    ("content_block_start", {"type": "content_block_start", "index": 0,
                                             "content_block": {"type": "text", "text": ""}}),
                    ("content_block_delta", {"type": "content_block_delta", "index": 0,
                                             "delta": {"type": "text_delta",
                                                       "text": api.text}}),
                    ("content_block_stop", {"type": "content_block_stop", "index": 0}),
                    ("message_delta", {"type": "message_delta", "delta": {
                        "stop_reason": "end_turn", "stop_sequence": None},
                        "usage": {"output_tokens": 6}}),
                    ("message_stop", {"type": "message_stop"}),
                ):
                    self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
                self.wfile.flush()

        return Handler


@pytest.fixture
def claude_api() -> Iterator[Api]:
    api = Api()
    thread = threading.Thread(target=api.server.serve_forever, daemon=True)
    thread.start()
    try:
        yield api
    finally:
        api.server.shutdown()
        api.server.server_close()
