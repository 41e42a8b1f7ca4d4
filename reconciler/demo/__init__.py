"""The demo and its sandbox: a stand-in claude, temp homes, a private tmux server, and a
loopback stand-in for Anthropic's API (for the real CLI, offline)."""

from reconciler.demo._api import Api, Limit, serve
from reconciler.demo._api import Request as ApiRequest
from reconciler.demo._run import run_demo
from reconciler.demo._sandbox import (
    TOKEN_PREFIX,
    Sandbox,
    build_sandbox,
    install_standin,
    kill_tmux_server,
)

__all__ = ["TOKEN_PREFIX", "Api", "ApiRequest", "Limit", "Sandbox", "build_sandbox",
           "install_standin", "kill_tmux_server", "run_demo", "serve"]
