"""Recorder behaviour: batching, never blocking, bounded memory, storage failures reported."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import storage_factories as fx

from storage.recorder import Recorder, RecorderHealth, StorageError


def _wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> bool:
    """Poll a condition with a bounded timeout (the writer thread offers no event to await
    for "an interval went by")."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(0.005)
    return cond()


def _count(path: Path, table: str = "portfolio_tick") -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
    finally:
        conn.close()


def test_one_transaction_per_batch(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with Recorder(path, batch_interval_ms=60_000) as rec:
        for s in fx.market(20, 30):
            rec.submit_snapshot(s)
        rec.submit_fill(fx.fill())
        assert _count(path) == 0  # nothing before the interval ends or a flush
        assert rec.flush()
        h = rec.health()
        assert h.batches == 1
        assert h.snapshots_written == 30
        assert h.events_written == 1
        assert h.rows_written == 30 * 41 + 1 + 2 * 41  # detail, event, two rollup buckets
        assert h.pending == 0
        assert h.ok
    assert _count(path) == 30
    assert _count(path, "hedge_tick") == 600


def test_interval_writes_without_flush(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with Recorder(path, batch_interval_ms=20) as rec:
        rec.submit_snapshot(fx.snapshot(fx.T0, (fx.hedge(),)))
        assert _wait_for(lambda: rec.health().snapshots_written == 1)
        assert _count(path) == 1


def test_close_flushes_and_then_refuses(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    rec = Recorder(path, batch_interval_ms=60_000)
    rec.submit_snapshot(fx.snapshot(fx.T0))
    assert rec.close()
    assert rec.close()  # idempotent
    assert _count(path) == 1
    assert not rec.submit_snapshot(fx.snapshot(fx.T0 + 1000))
    assert rec.health().snapshots_written == 1


def test_out_of_order_and_duplicate_snapshots_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with Recorder(path) as rec:
        for ts in (fx.T0 + 2000, fx.T0 + 1000, fx.T0 + 2000, fx.T0 + 3000):
            rec.submit_snapshot(fx.snapshot(ts, (fx.hedge(),)))
        assert rec.flush()
        assert rec.health().skipped == 2
    with Recorder(path) as rec:  # after a restart too
        rec.submit_snapshot(fx.snapshot(fx.T0 + 3000, (fx.hedge(),)))
        assert rec.flush()
        assert rec.health().skipped == 1
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT sum(n) FROM hedge_1m").fetchone()[0] == 2
    conn.close()


def test_submit_never_blocks_while_the_writer_is_stuck(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    rec = Recorder(path, batch_interval_ms=0, max_queue=5)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # another writer holds the lock
    try:
        rec.submit_snapshot(fx.snapshot(fx.T0))
        assert _wait_for(lambda: rec._queue.qsize() == 0)  # the writer took it and waits
        t0 = time.perf_counter()
        accepted = [rec.submit_snapshot(fx.snapshot(fx.T0 + 1000 * i)) for i in range(1, 11)]
        elapsed = time.perf_counter() - t0
        assert elapsed < 0.1
        assert accepted.count(True) == 5
        assert rec.health().dropped == 5
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert rec.flush()
    assert _count(path) == 6
    rec.close()


def _full_disk(pages: list[sqlite3.Connection]) -> Callable[[sqlite3.Connection], None]:
    def hook(conn: sqlite3.Connection) -> None:
        used = conn.execute("PRAGMA page_count").fetchone()[0]
        conn.execute(f"PRAGMA max_page_count = {used + 3}")
        pages.append(conn)

    return hook


def test_full_disk_is_reported_memory_stays_bounded_and_writing_resumes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "h.db"
    conns: list[sqlite3.Connection] = []
    rec = Recorder(path, batch_interval_ms=60_000, max_pending=100, on_connect=_full_disk(conns))
    snaps = list(fx.market(10, 400))
    for s in snaps[:300]:
        rec.submit_snapshot(s)
    assert not rec.flush()
    h: RecorderHealth = rec.health()
    assert not h.ok
    assert h.errors >= 1
    assert "full" in (h.last_error or "")
    assert h.pending <= 100
    assert h.dropped == 200  # the oldest ones went first
    rec.submit_fill(fx.fill())
    assert not rec.flush()  # still full: reported again, nothing raised to the caller
    # the disk gets room again: the kept snapshots and later ones are written
    conns[0].execute("PRAGMA max_page_count = 1000000")
    for s in snaps[300:]:
        rec.submit_snapshot(s)
    assert rec.flush()
    h = rec.health()
    assert h.ok
    assert h.snapshots_written == 200
    assert h.events_written == 1
    rec.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    first = conn.execute("SELECT min(ts_ms), count(*) FROM portfolio_tick").fetchone()
    assert first == (snaps[200].ts_ms, 200)
    assert conn.execute("SELECT sum(n) FROM portfolio_1h").fetchone()[0] == 200
    conn.close()


def test_read_only_database_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    conns: list[sqlite3.Connection] = []

    def read_only(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA query_only = 1")
        conns.append(conn)

    with Recorder(path, on_connect=read_only) as rec:
        assert rec.submit_snapshot(fx.snapshot(fx.T0))
        assert not rec.flush()
        h = rec.health()
        assert h.errors == 1
        assert "readonly" in (h.last_error or "").replace("read-only", "readonly")
        conns[0].execute("PRAGMA query_only = 0")
        assert rec.flush()  # the kept snapshot goes in on the next attempt
        assert rec.health().ok
        assert _count(path) == 1
        rec.submit_snapshot(fx.snapshot(fx.T0 + 1000))
        assert rec.flush()
    assert _count(path) == 2


def test_unopenable_path_is_one_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "missing-dir" / "h.db"
    with pytest.raises(StorageError, match="missing-dir"):
        Recorder(bad)


def test_retention_prunes_detail_and_keeps_rollups(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with Recorder(path, raw_retention_ms=60_000, batch_interval_ms=60_000) as rec:
        for i, s in enumerate(fx.market(1, 300)):
            rec.submit_snapshot(s)
            if i % 10 == 9:
                assert rec.flush()
    conn = sqlite3.connect(path)
    first, last, n = conn.execute(
        "SELECT min(ts_ms), max(ts_ms), count(*) FROM hedge_tick"
    ).fetchone()
    assert last == fx.T0 + 299_000
    assert last - first <= 60_000 + 10_000  # pruned per batch, up to one batch late
    assert n < 80
    assert conn.execute("SELECT sum(n), count(*) FROM hedge_1m").fetchone() == (300, 5)
    conn.close()


def test_submit_from_many_threads(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with Recorder(path, batch_interval_ms=5) as rec:

        def worker(k: int) -> None:
            for i in range(50):
                rec.submit_fill(fx.fill(fx.T0 + i, hedge_id=f"h{k}"))

        threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(5)
        assert rec.flush()
    assert _count(path, "fills") == 200
