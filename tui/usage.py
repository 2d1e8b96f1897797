"""The one error type of the command line: a user error, printed as one line with exit code 2
(``tui.cli.main`` catches it). Commands raise it; it imports nothing, so that no command
needs to import the command line that dispatches to it."""

from __future__ import annotations


class UsageError(Exception):
    """A user error: printed as one line, exit code 2."""
