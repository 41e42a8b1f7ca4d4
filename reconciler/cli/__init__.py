"""Command line: ``reconcile``. The top of the house; nothing imports it."""

from reconciler.cli._main import build_parser, main

__all__ = ["build_parser", "main"]
