"""What `hedgetop` (the dashboard) and `hedgetop record` share: the config, the database
(ledger and recorder on one file) and the wiring of a live session into the recorder."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tui.usage import UsageError

if TYPE_CHECKING:
    from core.config import Config
    from core.session import LiveSession
    from storage.ledger import SqliteLedger
    from storage.recorder import Recorder


@dataclass
class Opened:
    config: Config
    db: Path
    ledger: SqliteLedger
    recorder: Recorder | None  # None: a session that only reads (served to a browser)
    busy: str | None = None  # another process records to the file: why this one does not

    def close(self) -> None:
        if self.recorder is not None:
            self.recorder.close()
        self.ledger.close()


def load(config_path: str | None) -> Config:
    """The config, or the demo portfolio when there is none at all (no ``--config`` and no
    file at the default locations); a ``ConfigError`` turned into the one-line usage error."""
    from core.config import ConfigError, load_config

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        raise UsageError(f"config error: {exc}") from None
    if config is None:
        from core.demo import demo_config

        return demo_config()
    return config


def open_database(
    config: Config,
    db_arg: str | None,
    *,
    record: bool = True,
    on_problem: Callable[[str], None] | None = None,
    shared_ok: bool = False,
) -> Opened:
    """Open the history database named by ``--db``, else the config's, else the default:
    the durable ledger and (``record``) the batched recorder share the file. The recorder
    refuses a damaged or read-only file and one another recorder holds (a usage error, exit
    2); ``on_problem`` hears of each later storage problem as it happens. With ``shared_ok``
    (the dashboard beside a ``record``), a database another recorder holds is opened without
    a recorder, ``busy`` saying why."""
    from core.config import default_database_path
    from storage.ledger import SqliteLedger
    from storage.recorder import Recorder, RecorderBusy, StorageError

    db = Path(db_arg).expanduser() if db_arg else (config.database or default_database_path())
    if db.is_dir():
        raise UsageError(f"--db {db}: is a directory, not a database file")
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--db {db}: cannot create its folder: {exc.strerror}") from None
    try:
        ledger = SqliteLedger(db)
    except StorageError as exc:
        raise UsageError(f"--db {db}: {exc}") from None
    if not record:
        return Opened(config, db, ledger, None)
    try:
        recorder = Recorder(db, batch_interval_ms=1000, on_problem=on_problem)
    except RecorderBusy as exc:
        if shared_ok:
            return Opened(config, db, ledger, None, busy=str(exc))
        ledger.close()
        raise UsageError(str(exc)) from None
    except StorageError as exc:
        ledger.close()
        text = str(exc)
        raise UsageError(text if text.startswith(str(db)) else f"--db {db}: {text}") from None
    return Opened(config, db, ledger, recorder)


def wire_recorder(session: LiveSession, recorder: Recorder, record_interval_ms: int) -> None:
    """Send one snapshot per ``record_interval_ms`` and every event to the recorder."""
    every = max(1, round(record_interval_ms / session.tick_ms))

    def on_snapshot(snap: Any) -> None:
        if session.ticks % every:
            return
        if snap.hedges and all(h.mark is None for h in snap.hedges):
            return  # nothing known yet
        recorder.submit_snapshot(snap)

    session.on_snapshot.append(on_snapshot)
    session.on_fill.append(recorder.submit_fill)
    session.on_funding.append(recorder.submit_funding)
    session.on_alert.append(recorder.submit_alert)
    accounts = session.accounts
    if accounts is not None:
        accounts.on_read.append(functools.partial(record_account_read, recorder.db_path))


def record_account_read(db_path: Path, read: Any) -> None:
    """One account read into the history: its fills and funding once each (by the exchange's
    ids: a restart re-reads the window without doubling) and its reconciliation events. A
    connection per read (every 30 s): nothing to keep open or close."""
    from storage.account_log import AccountLog

    if read.state is None and not read.events:
        return
    with AccountLog(db_path) as log:
        if read.state is not None:
            log.record_fills(read.account, read.state.fills)
            log.record_funding(read.account, read.state.funding)
        log.record_events(read.events)


def notify_lock_path(db: Path) -> Path:
    """The lock that lets one process per database send the notifications (core.notify)."""
    return db.with_name(db.name + ".notify.lock")
