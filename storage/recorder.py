"""The recorder: snapshots and events go to SQLite on a writer thread of their own.

Callers (the UI's event loop, the headless ``record`` command) only ever put items on a
bounded queue: ``submit_*`` never blocks and never raises on a storage problem. The writer
thread collects what arrives during one interval (default 1 s) and writes it in ONE
transaction: the one-second rows (appended to ``<kind>_recent``), the session row, events, and
every ``compact_every_ms`` (5 min) of data time, after that batch's commit, a compaction
(``storage.rollup.compact``: fold into the rollups, move to the subject-major detail, prune
detail older than the retention) in one-minute steps of one transaction each.

Failure model:
- kill -9: WAL + one transaction per batch; at most the batch being collected is lost and the
  file passes ``PRAGMA integrity_check``.
- disk full / read-only / locked (``sqlite3.OperationalError`` on write): the batch is rolled
  back and kept for the next attempt, the error is counted and shown by ``health()``; pending
  items are bounded (oldest snapshots dropped first, with a count), so memory stays flat while
  the monitoring goes on. Writing resumes by itself when the disk has room again.
- a batch refused for its data (any other error: an integer too large for SQLite, a value
  of a type it cannot bind) is dropped with a count instead of being retried for ever; an
  event violating a NOT NULL column is skipped (``INSERT OR IGNORE``).
"""

from __future__ import annotations

import contextlib
import functools
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.events import AlertEvent, Fill, FundingEvent
from core.snapshot import PortfolioSnapshot
from storage import migrations, schema
from storage.dblock import DatabaseBusy, DatabaseUnfit, RecorderLock, preflight
from storage.events import insert_alerts, insert_fills, insert_funding
from storage.rollup import COMPACTED_UNTIL, compact, get_meta


class StorageError(Exception):
    """The database cannot be opened at all (message names the path and the reason)."""


class RecorderBusy(StorageError):  # noqa: N818 (reads better at the call site)
    """Another recorder (another process) holds the database: the message names its pid."""


@dataclass(frozen=True, slots=True)
class RecorderHealth:
    ok: bool  # the last write attempt succeeded (or none was needed)
    snapshots_written: int
    rows_written: int  # one-second rows + events
    events_written: int
    batches: int
    compactions: int  # boundaries reached: recent rows folded into rollups, moved to the detail
    checkpoints: int  # WAL checkpoints run between batches
    max_checkpoint_ms: float
    errors: int
    dropped: int  # items given up: queue full, or pending beyond the bound while failing
    skipped: int  # snapshots not newer than the last one stored (replays, clock steps)
    pending: int  # items waiting for the next (or a retried) write
    last_error: str | None
    last_batch_ms: float  # writer-thread time of the last successful batch
    max_batch_ms: float
    total_write_ms: float
    failures: int = 0  # write attempts failed in a row (0: the last one succeeded)
    retry_in_s: float = 0.0  # after a failure: the wait before the next attempt (backoff)
    compaction_steps: int = 0  # transactions of compaction and pruning (one minute each)
    max_compaction_step_ms: float = 0.0  # the longest of them: how long the file was held


def retry_delay(failures: int) -> float:
    """The wait before the next write attempt after ``failures`` failed ones in a row: capped
    exponential backoff (1, 2, 4 ... 30 s), so that a locked or full database is retried
    calmly for as long as it lasts, never given up (the batch is kept)."""
    if failures <= 0:
        return 0.0
    return min(RETRY_S * 2.0 ** min(failures - 1, 16), RETRY_MAX_S)


PRUNE_STEP_MS = 3_600_000
MINUTE_MS = schema.MINUTE_MS
RETRY_S = 1.0
RETRY_MAX_S = 30.0
_FLUSH = "flush"
_CLOSE = "close"


class Recorder:
    """A batched SQLite writer for snapshots, fills, funding and alerts.

    ``db_path`` is created (with its schema) if missing; a file that cannot be opened raises
    ``StorageError`` here, every later storage problem is reported through ``health()``.
    ``on_connect`` is called with the writer's connection once opened (tests use it to impose
    ``PRAGMA max_page_count`` or ``query_only`` to simulate a full or read-only disk).
    ``clock`` (monotonic seconds, read on the writer thread) decides when a batch and a
    checkpoint are due; tests step it instead of waiting.
    """

    def __init__(
        self,
        db_path: str | Path,
        *,
        batch_interval_ms: int = 1000,
        max_queue: int = 100_000,
        max_pending: int = 3_600,
        raw_retention_ms: int | None = schema.RAW_RETENTION_MS,
        compact_every_ms: int = schema.COMPACT_MS,
        checkpoint_every_ms: int = 5_000,
        on_connect: Callable[[sqlite3.Connection], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        on_problem: Callable[[str], None] | None = None,
        lock: bool = True,
        busy_timeout_ms: int = 5000,
    ) -> None:
        self.db_path = Path(db_path)
        self._clock = clock  # monotonic seconds: when batches and checkpoints are due
        self._interval_s = max(batch_interval_ms, 0) / 1000.0
        self._max_pending = max_pending
        self._retention_ms = raw_retention_ms
        if compact_every_ms <= 0 or schema.HOUR_MS % compact_every_ms or compact_every_ms % 60_000:
            raise ValueError(
                f"compact_every_ms must be whole minutes dividing an hour, got {compact_every_ms}"
            )
        self._compact_ms = compact_every_ms
        self._on_problem = on_problem
        try:
            self._conn = migrations.connect(self.db_path, check_same_thread=False)
        except (sqlite3.Error, schema.SchemaError, OSError) as exc:
            raise StorageError(f"cannot open database {self.db_path}: {exc}") from exc
        # fail fast: a damaged or read-only file, or one another recorder writes, is refused
        # here rather than after a whole session that saved nothing
        self._db_lock: RecorderLock | None = RecorderLock(self.db_path) if lock else None
        try:
            preflight(self._conn, self.db_path)
            if self._db_lock is not None:
                self._db_lock.acquire()
        except (DatabaseUnfit, DatabaseBusy, OSError, sqlite3.Error) as exc:
            self._conn.close()
            if isinstance(exc, DatabaseBusy):
                raise RecorderBusy(f"{self.db_path}: {exc}") from None
            raise StorageError(str(exc)) from None
        self._conn.execute(f"PRAGMA busy_timeout = {max(0, int(busy_timeout_ms))}")
        # WAL checkpoints (copying the log into the file, with an fsync) would otherwise run
        # inside some commits: 15-25 ms stalls every ~200 batches, in the middle of a tick's
        # write. The writer runs them itself between batches instead (PASSIVE, every
        # ``checkpoint_every_ms``): with no commit under way the checkpoint completes and the
        # next batch restarts the log, which stays a few seconds long even in a backlog.
        self._ckpt_s = max(checkpoint_every_ms, 0) / 1000.0
        self._last_ckpt = self._clock()
        self._conn.execute("PRAGMA wal_autocheckpoint = 0")
        if on_connect is not None:
            on_connect(self._conn)
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=max_queue)
        self._lock = threading.Lock()
        self._dropped = 0
        # writer-thread state
        self._snaps: list[PortfolioSnapshot] = []
        self._events: list[Fill | FundingEvent | AlertEvent] = []
        self._sids: dict[tuple[str, str], int] = {}
        self._last_ts: int | None = None
        self._until: int | None = None  # meta compacted_until_ms, as last committed
        self._latest_ms: int | None = None  # the newest snapshot written
        self._stats: dict[str, Any] = {
            "ok": True,
            "snapshots_written": 0,
            "rows_written": 0,
            "events_written": 0,
            "batches": 0,
            "compactions": 0,
            "compaction_steps": 0,
            "max_compaction_step_ms": 0.0,
            "checkpoints": 0,
            "max_checkpoint_ms": 0.0,
            "errors": 0,
            "skipped": 0,
            "last_error": None,
            "last_batch_ms": 0.0,
            "max_batch_ms": 0.0,
            "total_write_ms": 0.0,
            "failures": 0,
            "retry_in_s": 0.0,
        }
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="hedgetop-recorder", daemon=True)
        self._thread.start()

    # --- caller side (any thread, never blocks) ----------------------------------------------

    def _put(self, kind: str, item: Any) -> bool:
        if self._closed:
            return False
        try:
            self._queue.put_nowait((kind, item))
        except queue.Full:
            with self._lock:
                self._dropped += 1
            return False
        return True

    def submit_snapshot(self, snap: PortfolioSnapshot) -> bool:
        return self._put("snap", snap)

    def submit_fill(self, fill: Fill) -> bool:
        return self._put("event", fill)

    def submit_funding(self, event: FundingEvent) -> bool:
        return self._put("event", event)

    def submit_alert(self, event: AlertEvent) -> bool:
        return self._put("event", event)

    def flush(self, timeout: float = 10.0) -> bool:
        """Write everything submitted so far; True when it is on disk (False on a storage
        error or timeout: see ``health()``)."""
        if self._closed or not self._thread.is_alive():
            return False
        done = threading.Event()
        box: list[bool] = []
        try:
            self._queue.put((_FLUSH, (done, box)), timeout=timeout)
        except queue.Full:
            return False
        return done.wait(timeout) and bool(box and box[0])

    def close(self, timeout: float = 10.0) -> bool:
        """Flush the last batch, stop the writer, close the file. Idempotent."""
        if self._closed:
            return True
        ok = self.flush(timeout)
        self._closed = True
        with contextlib.suppress(queue.Full):
            self._queue.put((_CLOSE, None), timeout=timeout)
        self._thread.join(timeout)
        if not self._thread.is_alive():
            # leave the file whole without its -wal (a copy of the .db alone is complete)
            # unless another connection (a reader, the ledger) still uses it
            with contextlib.suppress(sqlite3.Error):
                self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._conn.close()
        if self._db_lock is not None:
            self._db_lock.release()
        return ok

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def health(self) -> RecorderHealth:
        s = dict(self._stats)
        with self._lock:
            dropped = self._dropped
        return RecorderHealth(
            dropped=dropped,
            pending=len(self._snaps) + len(self._events) + self._queue.qsize(),
            **s,
        )

    # --- writer thread -----------------------------------------------------------------------

    def _run(self) -> None:
        deadline = self._clock() + self._interval_s
        while True:
            waiters: list[tuple[threading.Event, list[bool]]] = []
            closing = False
            # nothing waiting to be written: sleep until something arrives (no polling)
            pending = bool(self._snaps or self._events)
            timeout = max(0.0, deadline - self._clock()) if pending else None
            try:
                item: tuple[str, Any] | None = self._queue.get(timeout=timeout)
            except queue.Empty:
                item = None
            while item is not None:
                kind, payload = item
                if kind == "snap":
                    self._snaps.append(payload)
                elif kind == "event":
                    self._events.append(payload)
                elif kind == _FLUSH:
                    waiters.append(payload)
                else:
                    closing = True
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    item = None
            if waiters or closing or self._clock() >= deadline:
                ok = self._write_batch()
                # after a failure, back off (1, 2, 4 ... 30 s): no busy loop on a full disk,
                # no giving up on a locked one; the batch waits in memory (bounded)
                wait = (
                    self._interval_s
                    if ok
                    else max(self._interval_s, retry_delay(self._stats["failures"]))
                )
                deadline = self._clock() + wait
                for done, box in waiters:
                    box.append(ok)
                    done.set()
                if closing:
                    return
                if ok and self._clock() - self._last_ckpt >= self._ckpt_s:
                    self._checkpoint()

    def _write_batch(self) -> bool:
        if not self._snaps and not self._events:
            return bool(self._stats["ok"])
        t0 = time.perf_counter()
        conn = self._conn
        try:
            conn.execute("BEGIN IMMEDIATE")
            rows, snaps = self._write_snapshots(conn)
            events = self._write_events(conn)
            conn.execute("COMMIT")
        except Exception as exc:
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            self._failed(exc)
            if not isinstance(exc, sqlite3.OperationalError):
                # not the disk but the data (a value SQLite cannot take, a constraint):
                # retrying the same batch would fail for ever and hold back what follows
                with self._lock:
                    self._dropped += len(self._snaps) + len(self._events)
                self._snaps = []
                self._events = []
            return False
        dt = (time.perf_counter() - t0) * 1000.0
        st = self._stats
        if st["failures"]:
            self._report(
                f"writing again after {st['failures']} failed attempts: "
                f"{snaps} snapshots and {events} events kept meanwhile are saved"
            )
        st["failures"] = 0
        st["retry_in_s"] = 0.0
        st["ok"] = True
        st["batches"] += 1
        st["snapshots_written"] += snaps
        st["events_written"] += events
        st["rows_written"] += rows + events
        st["last_batch_ms"] = dt
        st["max_batch_ms"] = max(st["max_batch_ms"], dt)
        st["total_write_ms"] += dt
        self._snaps = []
        self._events = []
        if self._latest_ms is not None:
            self._compact(self._latest_ms)
        return True

    def _checkpoint(self) -> None:
        """Copy the log into the file between batches (see ``__init__``)."""
        t0 = time.perf_counter()
        try:
            self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.Error:
            return  # a full disk shows in the next batch; the log simply grows meanwhile
        finally:
            self._last_ckpt = self._clock()
        st = self._stats
        st["checkpoints"] += 1
        st["max_checkpoint_ms"] = max(st["max_checkpoint_ms"], (time.perf_counter() - t0) * 1000.0)

    def _report(self, message: str) -> None:
        """Tell the caller of a storage problem as it happens (headless ``record`` prints it on
        stderr); a callback that fails must not stop the writer."""
        if self._on_problem is None:
            return
        with contextlib.suppress(Exception):
            self._on_problem(f"{self.db_path}: {message}")

    def _failed(self, exc: Exception) -> None:
        st = self._stats
        st["ok"] = False
        st["errors"] += 1
        st["last_error"] = f"{type(exc).__name__}: {exc}"
        kept = isinstance(exc, sqlite3.OperationalError)
        if kept:
            st["failures"] += 1
            st["retry_in_s"] = max(self._interval_s, retry_delay(st["failures"]))
            pending = len(self._snaps) + len(self._events)
            self._report(
                f"write failed ({st['last_error']}); {pending} items kept, retry "
                f"{st['failures'] + 1} in {st['retry_in_s']:g} s"
            )
        else:
            self._report(f"batch refused for its data and dropped ({st['last_error']})")
        # The database is the truth: forget what we believed it held.
        self._until = None
        self._last_ts = None
        self._sids.clear()
        excess = len(self._snaps) - self._max_pending
        if excess > 0:
            del self._snaps[:excess]
            with self._lock:
                self._dropped += excess
        excess = len(self._events) - self._max_pending
        if excess > 0:
            del self._events[:excess]
            with self._lock:
                self._dropped += excess

    def _sid(self, conn: sqlite3.Connection, kind: str, key: str, attrs: dict[str, Any]) -> int:
        sid = self._sids.get((kind, key))
        if sid is None:
            self._sids = schema.ensure_subjects(conn, [(kind, key, attrs)])
            sid = self._sids[(kind, key)]
        return sid

    def _fresh(self, conn: sqlite3.Connection, ts_ms: int) -> bool:
        """True if ``ts_ms`` is newer than every snapshot stored (and remember it): rows are
        appended in time order, and the rollups never count a sample twice."""
        if self._last_ts is None:
            got = conn.execute(
                "SELECT max(m) FROM (SELECT max(ts_ms) AS m FROM portfolio_recent UNION ALL "
                "SELECT max(ts_ms) FROM portfolio_tick WHERE sid IN "
                "(SELECT sid FROM subjects WHERE kind = 'portfolio'))"
            ).fetchone()[0]
            until = get_meta(conn, COMPACTED_UNTIL) or 0
            self._last_ts = max(-1 if got is None else int(got), until - 1)
        if ts_ms <= self._last_ts:
            return False
        self._last_ts = ts_ms
        return True

    def _write_snapshots(self, conn: sqlite3.Connection) -> tuple[int, int]:
        if not self._snaps:
            return 0, 0
        raw: dict[str, list[tuple[Any, ...]]] = {k: [] for k in schema.KINDS}
        sessions: dict[int, list[int]] = {}
        written = 0
        latest = -1
        for snap in self._snaps:
            ts = snap.ts_ms
            if not self._fresh(conn, ts):
                self._stats["skipped"] += 1
                continue
            latest = ts
            raw["portfolio"].append(
                (ts, self._sid(conn, "portfolio", "", {}), *schema.portfolio_row(snap))
            )
            seen: set[tuple[str, int]] = set()  # one row per subject and instant
            for h in snap.holdings:
                sid = self._sid(conn, "holding", h.coin, {"coin": h.coin, "label": h.label})
                if ("holding", sid) not in seen:
                    seen.add(("holding", sid))
                    raw["holding"].append((ts, sid, *schema.holding_row(h)))
            for g in snap.hedges:
                attrs = {
                    "venue": g.venue,
                    "symbol": g.symbol,
                    "coin": g.coin,
                    "hedged_coin": g.hedged_coin,
                }
                sid = self._sid(conn, "hedge", g.hedge_id, attrs)
                if ("hedge", sid) not in seen:
                    seen.add(("hedge", sid))
                    raw["hedge"].append((ts, sid, *schema.hedge_row(g)))
            written += 1
            sess = sessions.setdefault(snap.session_start_ms, [ts, 0])
            sess[0] = max(sess[0], ts)
            sess[1] += 1
        n = 0
        for kind, rows in raw.items():
            if rows:
                conn.executemany(schema.KINDS[kind].rows.insert_sql, rows)
                n += len(rows)
        for start, (end, ticks) in sessions.items():
            conn.execute(
                "INSERT INTO sessions (start_ms, end_ms, ticks) VALUES (?, ?, ?) "
                "ON CONFLICT(start_ms) DO UPDATE SET end_ms = max(end_ms, excluded.end_ms), "
                "ticks = ticks + excluded.ticks",
                (start, end, ticks),
            )
        if written:
            self._latest_ms = latest
        return n, written

    def _compact(self, latest_ms: int) -> None:
        """Every ``compact_every_ms`` of data time (after the batch that crossed the boundary
        has committed): fold the recent rows into the rollups and move them to the detail
        table, one minute of data per transaction, then prune detail older than the retention
        (one minute per transaction, at most ``PRUNE_STEP_MS`` per compaction, so that a long
        backlog never holds the file for long). Each step is whole; a failed one is rolled
        back and the compaction is tried again after the next batch (the rows wait in
        ``<kind>_recent``, which readers include)."""
        conn = self._conn
        try:
            if self._until is None:
                self._until = get_meta(conn, COMPACTED_UNTIL) or 0
            boundary = latest_ms - latest_ms % self._compact_ms
            if boundary <= self._until:
                return
            while self._until < boundary:
                # the next minute that has rows (a gap of hours is one step, not hundreds)
                first = min(
                    (
                        v
                        for spec in schema.KINDS.values()
                        if (
                            v := conn.execute(
                                f"SELECT min(ts_ms) FROM {spec.recent_table}"
                            ).fetchone()[0]
                        )
                        is not None
                    ),
                    default=None,
                )
                if first is None or first >= boundary:
                    end = boundary
                else:
                    end = min(boundary, max(self._until, int(first)) // MINUTE_MS * MINUTE_MS)
                    end += MINUTE_MS
                self._step(functools.partial(compact, conn, end))
                self._until = end
            self._stats["compactions"] += 1
            if self._retention_ms is None:
                return
            cutoff = latest_ms - self._retention_ms
            first = conn.execute(
                "SELECT min(ts_ms) FROM portfolio_tick WHERE sid IN "
                "(SELECT sid FROM subjects WHERE kind = 'portfolio')"
            ).fetchone()[0]
            if first is None or first >= cutoff:
                return
            lo = int(first)
            stop = min(cutoff, lo + PRUNE_STEP_MS)
            while lo < stop:
                upto = min(stop, lo + MINUTE_MS)
                self._step(functools.partial(self._prune, conn, upto))
                lo = upto
        except Exception as exc:  # the rows are safe in <kind>_recent: try after the next batch
            st = self._stats
            st["errors"] += 1
            st["last_error"] = f"{type(exc).__name__}: {exc}"
            self._until = None
            self._report(f"compaction failed ({st['last_error']}); tried again after next batch")

    def _step(self, work: Callable[[], object]) -> None:
        """One compaction or prune step in its own transaction, timed."""
        conn = self._conn
        t0 = time.perf_counter()
        conn.execute("BEGIN IMMEDIATE")
        try:
            work()
            conn.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
            raise
        dt = (time.perf_counter() - t0) * 1000.0
        st = self._stats
        st["compaction_steps"] += 1
        st["max_compaction_step_ms"] = max(st["max_compaction_step_ms"], dt)

    @staticmethod
    def _prune(conn: sqlite3.Connection, upto_ms: int) -> None:
        for spec in schema.KINDS.values():
            conn.execute(
                f"DELETE FROM {spec.raw_table} WHERE sid IN "
                "(SELECT sid FROM subjects WHERE kind = ?) AND ts_ms < ?",
                (spec.kind, upto_ms),
            )

    def _write_events(self, conn: sqlite3.Connection) -> int:
        if not self._events:
            return 0
        fills = [e for e in self._events if isinstance(e, Fill)]
        funding = [e for e in self._events if isinstance(e, FundingEvent)]
        alerts = [e for e in self._events if isinstance(e, AlertEvent)]
        return (
            insert_fills(conn, fills) + insert_funding(conn, funding) + insert_alerts(conn, alerts)
        )
