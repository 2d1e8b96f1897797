"""The ``hedgetop`` command line: the dashboard by default, sub-commands for the rest.

Each sub-command lives in ``tui/commands/<name>.py`` with ``register(subparsers)`` and
``run(args) -> int``; modules are imported only when their command runs, so that ``calc``
does not pay for Textual or ccxt.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

COMMANDS = ("calc", "sim", "feed", "replay", "record", "history", "config")


class UsageError(Exception):
    """A user error: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"hedgetop: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hedgetop", description="Watch and steer a hedged coin portfolio (inverse perpetuals)."
    )
    parser.add_argument("--config", help="portfolio config (TOML)")
    parser.add_argument("--db", help="SQLite history database")
    parser.add_argument("--read-only", action="store_true", help="disable every key that acts")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name in COMMANDS:
        try:
            module = importlib.import_module(f"tui.commands.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"tui.commands.{name}":
                raise
            continue
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        if args.command is None:
            try:
                from tui.commands import dashboard
            except ModuleNotFoundError:
                parser.print_help()
                return 0
            return dashboard.run(args)
        return int(args.func(args))
    except UsageError as exc:
        print(f"hedgetop: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    # Run the importable module's main: under ``python -m tui.cli`` this file is ``__main__``,
    # and the commands' ``from tui.cli import UsageError`` would be another class.
    from tui.cli import main as _main

    sys.exit(_main())
