"""The ``hedgetop`` command line: the dashboard by default, sub-commands for the rest.

Each sub-command lives in ``tui/commands/<name>.py`` with ``register(subparsers)`` and
``run(args) -> int``; modules are imported only when their command runs, so that ``calc``
does not pay for Textual or ccxt.

``--config`` and ``--db`` may also come from the environment (``HEDGETOP_CONFIG``,
``HEDGETOP_DB``); a flag wins over its variable.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Mapping, Sequence

from tui.usage import UsageError

__all__ = ["COMMANDS", "UsageError", "apply_environment", "build_parser", "main"]

COMMANDS = (
    "dashboard",
    "calc",
    "sim",
    "feed",
    "replay",
    "record",
    "history",
    "stress",
    "account",
    "config",
    "serve",
    "completion",
)
#: Environment variables standing in for flags that are not given: (dest, variable).
ENV_FLAGS = (("config", "HEDGETOP_CONFIG"), ("db", "HEDGETOP_DB"))


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"hedgetop: {message}\n")


def version() -> str:
    """The installed distribution's version ("unknown" when run from a bare checkout)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("hedgetop")
    except PackageNotFoundError:
        return "unknown (not installed)"


class _Version(argparse.Action):
    """``--version``, asking importlib.metadata only when it is used."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(option_strings, dest, nargs=0, help="print the version and exit")

    def __call__(self, parser: argparse.ArgumentParser, *_args: object) -> None:
        print(f"hedgetop {version()}")
        parser.exit(0)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="hedgetop", description="Watch and steer a hedged coin portfolio (inverse perpetuals)."
    )
    parser.add_argument("--version", action=_Version)
    parser.add_argument("--config", help="portfolio config (TOML); env HEDGETOP_CONFIG")
    parser.add_argument("--db", help="SQLite history database; env HEDGETOP_DB")
    parser.add_argument("--read-only", action="store_true", help="disable every key that acts")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name in COMMANDS:
        importlib.import_module(f"tui.commands.{name}").register(sub)
    # a command that describes the command line (completion) builds it again from this
    parser.set_defaults(build_parser=build_parser)
    return parser


def apply_environment(args: argparse.Namespace, environ: Mapping[str, str]) -> None:
    """Fill ``--config`` / ``--db`` from ``HEDGETOP_CONFIG`` / ``HEDGETOP_DB`` where no flag gave
    them (an empty variable counts as unset). A config named by the variable must exist: its
    error names the variable, so that a stale export is found quickly."""
    for dest, var in ENV_FLAGS:
        value = environ.get(var, "").strip()
        if getattr(args, dest, None) or not value:
            continue
        if dest == "config" and not os.path.isfile(os.path.expanduser(value)):
            from pathlib import Path

            from core.config import not_a_config_file

            why = not_a_config_file(Path(value).expanduser())
            raise UsageError(f"config error: {var}={value}: {why}")
        setattr(args, dest, value)


DEBUG_VAR = "HEDGETOP_DEBUG"


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command. A user error is one line and exit 2; anything unexpected is one line
    and exit 1 (the traceback only with ``HEDGETOP_DEBUG`` set); a reader that went away
    (``hedgetop config check | head -1``) ends the command quietly."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        apply_environment(args, os.environ)
        if args.command is None:
            from tui.commands import dashboard

            code = dashboard.run(args)
        else:
            code = int(args.func(args))
        sys.stdout.flush()  # here, so that a closed pipe is caught below, not at exit
        return code
    except UsageError as exc:
        print(f"hedgetop: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except Exception as exc:
        from core.config import ConfigError

        if isinstance(exc, ConfigError):  # found past the loading (e.g. building the session)
            print(f"hedgetop: config error: {exc}", file=sys.stderr)
            return 2
        if os.environ.get(DEBUG_VAR, "").strip() not in {"", "0"}:
            raise
        print(f"hedgetop: {unexpected(exc)}", file=sys.stderr)
        return 1


def unexpected(exc: BaseException) -> str:
    """One line for an error no command expected: its type and message, at most 300
    characters, and how to see the traceback."""
    text = " ".join(str(exc).split()) or "no message"
    if len(text) > 240:
        text = text[:239] + "…"
    return f"unexpected error ({type(exc).__name__}: {text}); set {DEBUG_VAR}=1 for the traceback"


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null: Python's own flush at exit would
    otherwise raise again and print 'Exception ignored ... BrokenPipeError'."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # a captured stdout has no descriptor
        pass


if __name__ == "__main__":
    # Run the importable module's main: under ``python -m tui.cli`` this file is ``__main__``,
    # and the commands' ``from tui.usage import UsageError`` would be another class.
    from tui.cli import main as _main

    sys.exit(_main())
