"""The ``claude_api`` fixture: a loopback stand-in for Anthropic's API (``reconciler.demo``'s
``Api``), so the real ``claude`` CLI runs offline in tests. Each account's token tells
the accounts apart; see ``reconciler/demo/_api.py``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from reconciler.demo import Api, ApiRequest, serve

Request = ApiRequest
__all__ = ["Api", "Request", "claude_api"]


@pytest.fixture
def claude_api() -> Iterator[Api]:
    api = Api()
    serve(api)
    try:
        yield api
    finally:
        api.server.shutdown()
        api.server.server_close()
