"""The demo and its sandbox: a stand-in claude, temp homes, a private tmux server."""

from reconciler.demo._run import run_demo
from reconciler.demo._sandbox import Sandbox, build_sandbox, install_standin, kill_tmux_server

__all__ = ["Sandbox", "build_sandbox", "install_standin", "kill_tmux_server", "run_demo"]
