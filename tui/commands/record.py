"""``hedgetop record``: run the engine and the recorder headless (for a server).

Snapshots (one per ``record_interval_ms``), fills, funding settlements and alerts go to the
SQLite history database; SIGINT/SIGTERM (or ``--seconds``) stop it cleanly, flushing the last
batch; a one-line summary is printed on exit.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import signal
import sys
import time
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    p = subparsers.add_parser(
        "record",
        help="record snapshots, fills, funding and alerts to SQLite, headless",
        description=(
            "Run the live session (the demo on the built-in simulator when there is no config) "
            "and the SQLite recorder without a screen, until SIGINT/SIGTERM or --seconds."
        ),
    )
    p.add_argument("--config", default=argparse.SUPPRESS, help="portfolio config (TOML)")
    p.add_argument("--db", default=argparse.SUPPRESS, help="SQLite history database")
    p.add_argument("--seconds", default=None, help="stop after N seconds (default: run on)")
    p.set_defaults(func=run)


def _seconds(text: str | None) -> float | None:
    from tui.usage import UsageError

    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--seconds: expected a number, got {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise UsageError(f"--seconds: must be > 0, got {text!r}")
    return value


def run(args: argparse.Namespace) -> int:
    import asyncio  # here, not at module level: `hedgetop calc` need not load it

    from tui.commands._session import load, open_database

    seconds = _seconds(getattr(args, "seconds", None))
    cfg = load(getattr(args, "config", None))
    opened = open_database(cfg, getattr(args, "db", None), on_problem=_storage_problem)
    db, recorder = opened.db, opened.recorder
    try:
        stats = asyncio.run(_record(cfg, opened.ledger, recorder, seconds, db))
    finally:
        opened.close()
    assert recorder is not None  # open_database opens one for recording
    health = recorder.health()
    feeds = ", ".join(
        f"{key[0]} {key[1]} {h.state.value} {h.quotes} quotes" for key, h in stats["feeds"]
    )
    problems = ""
    if health.errors or health.dropped:
        problems = f"; storage errors {health.errors}, dropped {health.dropped}"
        if health.last_error:
            problems += f" ({health.last_error})"
    if stats["feed_errors"]:
        problems += "; " + "; ".join(stats["feed_errors"])
    what = "demo portfolio" if cfg.demo else str(cfg.source)
    print(
        f"hedgetop record: {what}: {health.snapshots_written} snapshots "
        f"({health.rows_written} rows), {stats['fills']} fills, {stats['funding']} funding "
        f"events, {stats['alerts']} alert changes in {stats['elapsed']:.1f} s to {db}; "
        f"feeds: {feeds or 'none'}{problems}"
        + (f"; {stats['notified']}" if "notified" in stats else "")
    )
    return 0 if health.ok else 1


def _storage_problem(message: str) -> None:
    """A storage problem as it happens (disk full, locked, read-only), on stderr: a headless
    recorder must not write nothing in silence until it exits. Called on the writer thread."""
    with contextlib.suppress(OSError, ValueError):  # stderr gone: the summary counts them
        print(f"hedgetop record: storage: {message}", file=sys.stderr, flush=True)


async def _record(
    cfg: Any, ledger: Any, recorder: Any, seconds: float | None, db: Path
) -> dict[str, Any]:
    import asyncio

    from core.session import LiveSession
    from tui.commands._session import notify_lock_path, wire_recorder

    session = LiveSession(cfg, ledger=ledger, refresh_specs=True, notify_lock=notify_lock_path(db))
    wire_recorder(session, recorder, cfg.record_interval_ms)
    counts = {"fills": 0, "funding": 0, "alerts": 0}

    def counter(name: str) -> Any:
        def count(_event: object) -> None:
            counts[name] += 1

        return count

    session.on_fill.append(counter("fills"))
    session.on_funding.append(counter("funding"))
    session.on_alert.append(counter("alerts"))

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    what = "the demo portfolio (built-in simulator)" if cfg.demo else str(cfg.source)
    print(f"hedgetop record: recording {what} to {db}; Ctrl-C to stop", file=sys.stderr)
    t0 = time.monotonic()
    await session.start()
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), seconds)
    finally:
        feeds = list(zip(session.runner_keys, session.health(), strict=True))
        await session.stop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
    recorder.flush()
    counts_out: dict[str, Any] = dict(counts)
    counts_out["elapsed"] = time.monotonic() - t0
    counts_out["feeds"] = feeds
    counts_out["feed_errors"] = list(session.feed_errors)
    if session.notifier is not None:
        n = session.notifier.health
        counts_out["notified"] = f"{n.sent} notifications sent, {n.failed} failed"
    return counts_out
