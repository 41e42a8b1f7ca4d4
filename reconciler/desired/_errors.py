"""Errors in a desired file, each pinned to file, line and key (defined with the project's
other errors, so the CLI can name them without loading the desired-state stack)."""

from reconciler.errors import DesiredStateError, Problem

__all__ = ["DesiredStateError", "Problem"]
