"""The demo and its sandbox: a stand-in claude, temp homes, a private tmux server."""

from reconciler.demo._run import run_demo
from reconciler.demo._sandbox import (
    TOKEN_PREFIX,
    Sandbox,
    build_sandbox,
    install_standin,
    kill_tmux_server,
)

__all__ = ["TOKEN_PREFIX", "Sandbox", "build_sandbox", "install_standin", "kill_tmux_server",
           "run_demo"]
