"""``hedgetop serve``: the dashboard in a browser (textual-serve), one app per browser session.

Each browser session gets its own dashboard process on the same config and database. They are
viewers:

- **Read-only** unless ``--allow-trading``; then one session at a time may resize (the first
  to open; the others are read-only and say why), because each process holds its own copy of
  the positions and two traders would size from books that no longer agree.
- **They do not record and do not notify.** N open tabs would write every snapshot N times
  (and one database takes one recorder) and send every alert N times. Run ``hedgetop record``
  beside ``serve`` for the history and the alerts: one recorder, one notifier, whatever the
  number of tabs. The sessions read the database (history screen, ledger).
- **Bound to 127.0.0.1** unless ``--host`` says otherwise. Any other address requires a
  token (``HEDGETOP_SERVE_TOKEN``, else generated and printed once at start), given once on
  the URL and then kept in a cookie; without it every request is refused with 403.
  ``--require-token`` asks for it on loopback too (a machine shared with other users).
- The token, the venue API keys (removed from the sessions' environment unless trading is
  allowed) and the notification URLs never reach a page or the server's log.
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

TOKEN_ENV = "HEDGETOP_SERVE_TOKEN"
MIN_TOKEN_CHARS = 16


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "serve",
        help="serve the dashboard to web browsers (read-only by default)",
        description=(
            "Serve the dashboard through textual-serve: each browser session runs its own "
            "dashboard on the same config and database, read-only unless --allow-trading. "
            "Beyond 127.0.0.1 a token is required (HEDGETOP_SERVE_TOKEN, or one generated "
            "and printed now). Sessions neither record nor notify: run `hedgetop record` "
            "beside it for that."
        ),
    )
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    p.add_argument("--port", default="8000", help="port to bind (default 8000; 0 picks one)")
    p.add_argument(
        "--allow-trading",
        action="store_true",
        help="let one browser session at a time resize (previews and confirmations as in the "
        "terminal)",
    )
    p.add_argument(
        "--require-token",
        action="store_true",
        help="ask for the token on 127.0.0.1 too (other users on this machine)",
    )
    p.add_argument(
        "--public-url",
        default=None,
        help="the URL browsers use, behind a reverse proxy (e.g. https://hedge.example.org)",
    )
    p.add_argument("--config", default=argparse.SUPPRESS, help="portfolio config (TOML)")
    p.add_argument("--db", default=argparse.SUPPRESS, help="SQLite history database")
    p.set_defaults(func=run)


def _port(text: str) -> int:
    from tui.usage import UsageError

    try:
        port = int(text)
    except ValueError:
        raise UsageError(f"--port: expected a whole number, got {text!r}") from None
    if not 0 <= port <= 65535:
        raise UsageError(f"--port: must be 0-65535, got {text!r}")
    return port


def _token(args: argparse.Namespace, loopback: bool) -> tuple[str | None, bool]:
    """(token or None, generated?)."""
    from tui.usage import UsageError

    given = os.environ.get(TOKEN_ENV, "")
    if given:
        if len(given) < MIN_TOKEN_CHARS or any(c.isspace() for c in given):
            raise UsageError(
                f"{TOKEN_ENV}: use at least {MIN_TOKEN_CHARS} characters and no spaces "
                f"(it has {len(given)})"
            )
        return given, False
    if loopback and not args.require_token:
        return None, False
    import secrets

    return secrets.token_urlsafe(24), True


def child_command(config: str | None, db: str, *, trading: bool) -> str:
    """The shell command textual-serve runs per browser session: this Python, this hedgetop."""
    import shlex

    argv = [sys.executable, "-m", "tui.cli"]
    if config:
        argv += ["--config", config]
    argv += ["--db", db, "dashboard", "--served", "trade" if trading else "view"]
    return shlex.join(argv)


def run(args: argparse.Namespace) -> int:
    from core.config import default_database_path
    from tui.commands._session import load
    from tui.serve import DashboardServer, child_environment, is_loopback
    from tui.usage import UsageError

    port = _port(args.port)
    host = args.host.strip()
    if not host:
        raise UsageError("--host: must not be empty")
    if args.public_url and not args.public_url.startswith(("http://", "https://")):
        raise UsageError(
            f"--public-url: must start with http:// or https://, got {args.public_url!r}"
        )
    loopback = is_loopback(host)
    token, generated = _token(args, loopback)
    cfg = load(getattr(args, "config", None))
    db_arg = getattr(args, "db", None)
    db = (
        os.path.abspath(os.path.expanduser(db_arg))
        if db_arg
        else str(cfg.database or default_database_path())
    )
    _prepare_database(db)
    child_environment(
        os.environ,
        allow_trading=args.allow_trading,
        drop={TOKEN_ENV, "HEDGETOP_NOTIFY_URLS"},
    )
    command = child_command(
        str(cfg.source.resolve()) if cfg.source else None, db, trading=args.allow_trading
    )

    def ready(bound: str, actual_port: int) -> None:
        shown = f"[{bound}]" if ":" in bound else bound
        if bound in ("0.0.0.0", "::"):  # every interface: name the machine
            import socket

            shown = socket.gethostname()
        url = args.public_url.rstrip("/") if args.public_url else f"http://{shown}:{actual_port}"
        mode = "trading allowed (one session at a time)" if args.allow_trading else "read-only"
        source = f"config {cfg.source}" if cfg.source else "the demo portfolio (no config)"
        print(f"hedgetop serve: {url}/  ({mode}; {source}; database {db})", flush=True)
        if token is not None and generated:
            print(f"  open once with the token: {url}/?token={token}", flush=True)
            print(f"  (set {TOKEN_ENV} to choose it; it is not shown again)", flush=True)
        elif token is not None:
            print(f"  token from {TOKEN_ENV}: open {url}/?token=<token> once", flush=True)
        print(
            "  browser sessions neither record nor notify: run `hedgetop record` beside this",
            flush=True,
        )
        print(f"  listening on {bound}:{actual_port}; ctrl+c stops", flush=True)

    server = DashboardServer(
        command,
        host=host,
        port=port,
        token=token,
        public_url=args.public_url,
        on_ready=ready,
    )
    try:
        server.serve()
    except OSError as exc:
        raise UsageError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return 0


def _prepare_database(db: str) -> None:
    """Create (or migrate) the database once here, so that the sessions, started together,
    never race to do it; a file that is no database is the user's error, said now."""
    from pathlib import Path

    from storage.ledger import SqliteLedger
    from storage.recorder import StorageError
    from tui.usage import UsageError

    path = Path(db)
    if path.is_dir():
        raise UsageError(f"--db {db}: is a directory, not a database file")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        SqliteLedger(path).close()
    except OSError as exc:
        raise UsageError(f"--db {db}: {exc.strerror or exc}") from None
    except StorageError as exc:
        raise UsageError(f"--db {db}: {exc}") from None
