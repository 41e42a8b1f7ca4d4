"""Command line: ``reconcile``. The top of the house; nothing imports it."""

from reconciler.cli._main import main
from reconciler.cli._parser import build_parser

__all__ = ["build_parser", "main"]
