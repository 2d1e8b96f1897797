"""``hedgetop`` with no sub-command: the live dashboard.

Loads the config (the demo portfolio on the built-in simulator when there is none), opens
the history database (``--db``, else the config's, else the user data dir) for the ledger, the
recorder and the history screen, and runs the Textual app over a ``LiveSession``. A config
error is one line and exit code 2. Textual, the engine and storage are imported here, inside
``run``, so that other sub-commands do not pay for them.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from core.config import KEY_ACTIONS, KEY_ALIASES

#: Binding ids the ``[keys]`` config section may remap (action -> key): core.config's list.
ACTIONS = KEY_ACTIONS


def register(subparsers: Any) -> None:
    """The dashboard is the default command (``hedgetop``); it also answers to
    ``hedgetop dashboard`` for symmetry."""
    p = subparsers.add_parser("dashboard", help="the live dashboard (the default)")
    p.add_argument("--config", default=argparse.SUPPRESS, help="portfolio config (TOML)")
    p.add_argument("--db", default=argparse.SUPPRESS, help="SQLite history database")
    p.add_argument(
        "--read-only",
        action="store_true",
        default=argparse.SUPPRESS,
        help="disable every key that acts",
    )
    # Set by `hedgetop serve` for the app of one browser session (see tui/commands/serve.py):
    # no recorder, no notifications, and "view" (read-only) or "trade" (one session at a time).
    p.add_argument("--served", choices=("view", "trade"), default=None, help=argparse.SUPPRESS)
    p.set_defaults(func=run)


#: Other names the config may use for the same actions.
ALIASES = KEY_ALIASES


def keymap_from_config(keys: dict[str, str], source: str) -> tuple[dict[str, str], str | None]:
    """The ``[keys]`` section as Textual's keymap (binding id -> keys), or one error line
    naming the first unknown action."""
    out: dict[str, str] = {}
    for action, key in keys.items():
        binding_id = ALIASES.get(action, action)
        if binding_id not in ACTIONS:
            return {}, (
                f"{source}: keys.{action}: unknown dashboard action {action!r} "
                f"(known: {', '.join(ACTIONS)})"
            )
        out[binding_id] = key
    return out, None


def run(args: argparse.Namespace) -> int:
    from tui.commands._session import load, open_database
    from tui.usage import UsageError

    cfg = load(getattr(args, "config", None))
    keymap, error = keymap_from_config(dict(cfg.keys), str(cfg.source or "config"))
    if error:
        raise UsageError(f"config error: {error}")
    served = getattr(args, "served", None)
    if served is not None:
        cfg = served_config(cfg)
    opened = open_database(cfg, getattr(args, "db", None), record=served is None, shared_ok=True)
    try:
        return _run_app(
            args, cfg, opened.ledger, opened.recorder, db=opened.db, keymap=keymap, busy=opened.busy
        )
    finally:
        opened.close()


def served_config(cfg: Any) -> Any:
    """A browser session's config: the same portfolio without what acts outside the screen
    (the alert command, the notifications): `hedgetop record` beside serve does that."""
    import dataclasses

    from core.config import NotifyConfig

    return dataclasses.replace(
        cfg,
        alerts=dataclasses.replace(cfg.alerts, on_raise_command=()),
        notify=NotifyConfig(),
    )


def served_trader(session: Any, mode: str, db: Path) -> tuple[Any, str]:
    """(trader or None, why not) for a browser session: "view" never trades; "trade" does if
    no other session holds the database's trading lock (released when the process ends)."""
    if mode != "trade":
        return None, "served read-only (hedgetop serve without --allow-trading)"
    import fcntl

    lock = open(f"{db}.trading.lock", "a+")  # noqa: SIM115 (held for the process's life)
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        lock.close()
        return None, "another browser session is trading (one at a time): this one is read-only"
    _HELD.append(lock)
    return session, ""


_HELD: list[Any] = []  # the trading lock's file, kept open (and locked) until exit


def _run_app(
    args: argparse.Namespace,
    cfg: Any,
    ledger: Any,
    recorder: Any,
    *,
    db: Path,
    keymap: dict[str, str],
    busy: str | None = None,
) -> int:
    from core.session import LiveSession
    from tui.app import HedgetopApp
    from tui.commands._session import notify_lock_path, wire_recorder
    from tui.themes import default_state_path

    served = getattr(args, "served", None)
    session = LiveSession(
        cfg,
        ledger=ledger,
        refresh_specs=True,
        notify=served is None,
        notify_lock=notify_lock_path(db),
    )
    if recorder is not None:
        wire_recorder(session, recorder, cfg.record_interval_ms)
    trader: Any = session
    why = "no broker in this session"
    if served is not None:
        trader, why = served_trader(session, served, db)
    elif busy is not None:
        # beside a running `record`: watch, but neither record nor act (its paper positions
        # and this session's would interleave in one ledger)
        trader, why = None, f"not recording, read-only: {busy}"
    label = "the built-in simulator" if cfg.simulator.enabled else "the exchanges"
    app = HedgetopApp(
        session,
        trader=trader,
        no_trader_reason=why,
        read_only=bool(getattr(args, "read_only", False)),
        ratio_step=cfg.broker.step_pct / 100.0,
        keymap=keymap,
        theme_name=cfg.theme or None,
        state_path=default_state_path(),
        history_db=db,
        recorder=recorder,
        source_label=label,
        feed_label=feed_labeller(session),
    )
    result = app.run()
    if app.return_code:  # the app ended on an exception (Textual sets 1): never exit 0
        return int(app.return_code)
    return int(result or 0)


def feed_labeller(session: Any) -> Any:
    """``FeedHealth`` -> "venue socket" (two sockets of one venue would read alike)."""
    names: dict[str, str] = {}

    def label(health: Any) -> str:
        if health.url not in names:
            for (venue, socket), url in session.feed_urls().items():
                names.setdefault(url, f"{venue} {socket}")
        return str(names.get(health.url, health.venue))

    return label
