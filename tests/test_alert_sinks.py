"""Alert sinks against a real HTTP server on loopback; the book fires and resolves once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from reconciler.alerts import Alert, AlertBook, Dispatcher, build_sinks
from reconciler.desired import CommandSinkSpec, TelegramSinkSpec, WebhookSinkSpec
from reconciler.statedir import StateDir

TOKEN = "123456:SECRET-planted-token-do-not-log"  # noqa: S105  (planted to prove redaction)


class Recorder(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[str, dict[str, Any]]]] = []
    fail: ClassVar[bool] = False

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Recorder.received.append((self.path, body))
        self.send_response(500 if Recorder.fail else 200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *_args: object) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    Recorder.received = []
    Recorder.fail = False
    httpd = HTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()


def test_webhook_and_telegram_deliver(server: str) -> None:
    sinks, problems = build_sinks(
        [WebhookSinkSpec(f"{server}/hook", timeout=2),
         TelegramSinkSpec("42", token_env="TG", api_base=server)],
        environ={"TG": TOKEN})
    assert not problems
    lines: list[str] = []
    Dispatcher(sinks, log_line=lines.append).send(Alert("drift", "firing", "session api", "gone"))
    paths = [p for p, _ in Recorder.received]
    assert paths == ["/hook", f"/bot{TOKEN}/sendMessage"]
    assert Recorder.received[0][1]["kind"] == "drift"
    assert Recorder.received[1][1] == {"chat_id": "42", "text": "🔥 [drift] session api: gone"}
    assert all(TOKEN not in line for line in lines)


def test_failing_sink_is_logged_with_the_token_redacted(server: str) -> None:
    Recorder.fail = True
    sinks, _ = build_sinks(
        [TelegramSinkSpec("42", token_env="TG", api_base=server)], environ={"TG": TOKEN})
    lines: list[str] = []
    dispatcher = Dispatcher(sinks, attempts=2, first_wait=0.01, log_line=lines.append)
    dispatcher.send(Alert("drift", "firing", "x", "y"))
    assert dispatcher.failed == 1 and len(Recorder.received) == 2
    assert any("telegram failed" in line for line in lines)
    assert all(TOKEN not in line for line in lines)
    assert TOKEN not in repr(sinks)


def test_unreachable_webhook_never_raises() -> None:
    sinks, _ = build_sinks([WebhookSinkSpec("http://127.0.0.1:9/none", timeout=1)])
    dispatcher = Dispatcher(sinks, attempts=1, log_line=lambda _l: None)
    dispatcher.send(Alert("drift", "firing", "x", "y"))
    assert dispatcher.failed == 1


def test_missing_telegram_token_is_a_reported_problem() -> None:
    sinks, problems = build_sinks([TelegramSinkSpec("1", token_env="NOPE")], environ={})
    assert sinks == [] and "NOPE" in problems[0]


def test_token_file(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN + "\n")
    sinks, problems = build_sinks([TelegramSinkSpec("1", token_file=tmp_path / "token")],
                                  environ={})
    assert not problems and sinks[0].token == TOKEN  # type: ignore[attr-defined]


def test_command_sink_gets_json_on_stdin(tmp_path: Path) -> None:
    out = tmp_path / "got.json"
    sinks, _ = build_sinks([CommandSinkSpec(("sh", "-c", 'cat > "$0"', str(out)))])
    Dispatcher(sinks, log_line=lambda _l: None).send(Alert("limit", "firing", "work", "hit"))
    assert json.loads(out.read_text())["subject"] == "work"


def test_book_fires_once_and_resolves_once_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "state"
    book = AlertBook(StateDir(path))
    assert [a.state for a in book.update("drift", {"s": "m"})] == ["firing"]
    assert book.update("drift", {"s": "m"}) == []
    again = AlertBook(StateDir(path))
    assert again.update("drift", {"s": "m"}) == []
    assert [a.state for a in again.update("drift", {})] == ["resolved"]
    assert again.update("drift", {}) == []


class Redirector(BaseHTTPRequestHandler):
    """Answers every POST with a redirect to ``Redirector.to`` (another host)."""

    to: ClassVar[str] = ""
    code: ClassVar[int] = 307

    def do_POST(self) -> None:
        self.send_response(Redirector.code)
        self.send_header("Location", Redirector.to)
        self.end_headers()

    def log_message(self, *_args: object) -> None:
        return


class Elsewhere(BaseHTTPRequestHandler):
    """The other host: records every request and its headers."""

    seen: ClassVar[list[dict[str, str]]] = []

    def do_GET(self) -> None:
        Elsewhere.seen.append(dict(self.headers))
        self.send_response(200)
        self.end_headers()

    def do_POST(self) -> None:
        self.do_GET()

    def log_message(self, *_args: object) -> None:
        return


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_webhook_follows_no_redirect_and_sends_no_header_elsewhere(code: int) -> None:
    Elsewhere.seen = []
    other = HTTPServer(("127.0.0.2", 0), Elsewhere)  # another loopback address: another host
    redirector = HTTPServer(("127.0.0.1", 0), Redirector)
    for httpd in (other, redirector):
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    Redirector.to, Redirector.code = f"http://127.0.0.2:{other.server_address[1]}/steal", code
    try:
        sink = build_sinks([WebhookSinkSpec(
            f"http://127.0.0.1:{redirector.server_address[1]}/hook", timeout=2,
            headers=(("Authorization", f"Bearer {TOKEN}"),))])[0][0]
        lines: list[str] = []
        dispatcher = Dispatcher([sink], log_line=lines.append, first_wait=0.01,
                                secrets=[f"Bearer {TOKEN}"])
        dispatcher.send(Alert("drift", "firing", "s", "m"))
    finally:
        other.shutdown()
        redirector.shutdown()
    assert Elsewhere.seen == [], "nothing, and no Authorization header, reached the other host"
    assert dispatcher.failed == 1
    assert any("redirect to http://127.0.0.2" in line and "not followed" in line
               for line in lines), lines
    assert all(TOKEN not in line for line in lines)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.org/x", "data:,x"])
def test_webhook_speaks_http_and_https_only(url: str) -> None:
    sink = build_sinks([WebhookSinkSpec(url, timeout=1)])[0][0]
    lines: list[str] = []
    dispatcher = Dispatcher([sink], log_line=lines.append, first_wait=0.01)
    dispatcher.send(Alert("drift", "firing", "s", "m"))
    assert dispatcher.failed == 1
    assert any("alerts go over http or https only" in line for line in lines), lines


def test_the_book_keeps_and_sends_no_secret(tmp_path: Path) -> None:
    """Pane text carried a launch.env value into a condition: the book redacts it before
    alerts.json and every sink see it."""
    state = StateDir(tmp_path / "st")
    book = AlertBook(state, redact=lambda text: text.replace(TOKEN, "<redacted>"))
    fired = book.update("crashloop", {"api/0": f"exited: MY_TOKEN={TOKEN} claude: not found"})
    assert fired[0].message == "exited: MY_TOKEN=<redacted> claude: not found"
    assert TOKEN not in (tmp_path / "st" / "alerts.json").read_text()
