"""Recorder behaviour: batching, never blocking, bounded memory, storage failures reported."""

from __future__ import annotations

import dataclasses
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path

import msgspec
import pytest
import storage_factories as fx

from storage.history import open_history
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


def _count(path: Path, table: str = "portfolio") -> int:
    """Rows of an event table, or one-second rows of a kind (recent + compacted detail)."""
    conn = sqlite3.connect(path)
    try:
        if table in ("portfolio", "holding", "hedge"):
            sql = (
                f"SELECT (SELECT count(*) FROM {table}_recent) + "
                f"(SELECT count(*) FROM {table}_tick)"
            )
        else:
            sql = f"SELECT count(*) FROM {table}"
        return int(conn.execute(sql).fetchone()[0])
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
        assert h.rows_written == 30 * 41 + 1  # one-second rows and the event
        assert h.pending == 0
        assert h.ok
    assert _count(path) == 30
    assert _count(path, "hedge") == 600


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
    assert _count(path, "hedge") == 2


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
    conn.close()
    with open_history(path) as hist:
        assert hist.bounds() == (fx.T0, snaps[399].ts_ms)  # the fill is at T0
        for points, source in ((500, "tick"), (2, "1m")):
            start, end = fx.T0, snaps[-1].ts_ms
            assert hist.plan(start, end, max_points=points).source == source
            got = hist.series(start, end, max_points=points)
            assert sum(v or 0 for _t, v in got["n"]) == 200
            assert got["n"][0][0] >= snaps[200].ts_ms - 200_000  # the oldest went first
        assert hist.series(start, end)["n"][0][0] == snaps[200].ts_ms


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
    with Recorder(path, raw_retention_ms=120_000, batch_interval_ms=60_000) as rec:
        for i, s in enumerate(fx.market(1, 900)):
            rec.submit_snapshot(s)
            if i % 10 == 9:
                assert rec.flush()
        # the first batch marks the start (nothing to move), then at 5 and 10 minutes of data
        assert rec.health().compactions == 3
    conn = sqlite3.connect(path)
    first = conn.execute("SELECT min(ts_ms) FROM hedge_tick").fetchone()[0]
    last = conn.execute("SELECT max(ts_ms) FROM hedge_recent").fetchone()[0]
    assert last == fx.T0 + 899_000
    # pruned at the last compaction (10 min, seen at 10:09): older than 2 min before then
    assert first == fx.T0 + 609_000 - 120_000
    assert conn.execute("SELECT sum(n), count(*) FROM hedge_1m").fetchone() == (600, 10)
    conn.close()
    with open_history(path) as hist:
        plan = hist.plan(fx.T0, last, subject="bybit-btc")
        assert plan.source == "1m"  # the detail of the start is gone: minutes instead
        got = hist.series(fx.T0, last, subject="bybit-btc")
        assert sum(v or 0 for _t, v in got["n"]) == 900
        assert len(got["n"]) == 15


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


def test_wal_stays_short_when_batches_come_back_to_back(tmp_path: Path) -> None:
    """SQLite's automatic checkpoints (inside commits) are off; the writer checkpoints between
    batches, so the log restarts even when batches never pause (a backlog)."""
    path = tmp_path / "h.db"
    wal = Path(str(path) + "-wal")
    sizes = []
    now = [0.0]  # the writer's clock: 10 ms pass per batch, a checkpoint is due every second
    with Recorder(path, batch_interval_ms=0, checkpoint_every_ms=20, clock=lambda: now[0]) as rec:
        assert rec._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        for s in fx.market(5, 2000):
            rec.submit_snapshot(s)
            assert rec.flush()
            sizes.append(wal.stat().st_size)
            now[0] += 0.010
        assert rec.health().checkpoints > 10
    assert max(sizes) < 3_000_000  # of ~30 MB of frames written in all
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    assert _count(path) == 2000


def test_a_batch_refused_for_its_data_is_dropped_not_retried(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    poison = fx.snapshot(fx.T0 + 1000, (dataclasses.replace(fx.hedge(), contracts=2**70),))
    with Recorder(path, batch_interval_ms=60_000) as rec:
        rec.submit_snapshot(fx.snapshot(fx.T0))
        rec.submit_snapshot(poison)  # an int SQLite cannot store
        rec.submit_fill(fx.fill())
        assert not rec.flush()
        h = rec.health()
        assert "OverflowError" in (h.last_error or "")
        assert h.dropped == 3
        assert h.pending == 0
        rec.submit_fill(msgspec.structs.replace(fx.fill(), hedge_id=None))  # NOT NULL: skipped
        rec.submit_snapshot(fx.snapshot(fx.T0 + 2000))
        assert rec.flush()  # the writer lives on, and what comes next is written
        assert rec.health().events_written == 0
    assert _count(path) == 1
    assert _count(path, "fills") == 0


def test_a_subject_twice_in_one_snapshot_is_one_row(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    snap = fx.snapshot(fx.T0, (fx.hedge(), fx.hedge()), (fx.holding(), fx.holding()))
    with Recorder(path) as rec:
        rec.submit_snapshot(snap)
        assert rec.flush()
    assert _count(path, "hedge") == 1
    assert _count(path, "holding") == 1


def test_a_failing_disk_is_retried_calmly(tmp_path: Path) -> None:
    """With no batch interval, a write that keeps failing is retried about once a second,
    not in a busy loop."""
    path = tmp_path / "h.db"

    def read_only(conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA query_only = 1")

    with Recorder(path, batch_interval_ms=0, on_connect=read_only) as rec:
        rec.submit_snapshot(fx.snapshot(fx.T0))
        assert _wait_for(lambda: rec.health().errors >= 1)
        t0 = time.monotonic()
        assert _wait_for(lambda: rec.health().errors >= 2, timeout=3.0)
        assert time.monotonic() - t0 > 0.5
        assert rec.health().errors == 2


def test_compaction_runs_in_one_minute_steps_after_the_batch(tmp_path: Path) -> None:
    """A compaction never holds the file for more than one minute of data: five steps of one
    transaction each per five-minute boundary, none of them inside the batch's own write."""
    path = tmp_path / "h.db"
    with Recorder(path, batch_interval_ms=60_000) as rec:
        for i, s in enumerate(fx.market(1, 900)):
            rec.submit_snapshot(s)
            if i % 10 == 9:
                assert rec.flush()
        h = rec.health()
    # the first batch only marks the start (one step: nothing below it), then 5 + 5 minutes
    assert (h.compactions, h.compaction_steps) == (3, 11)
    assert h.max_compaction_step_ms > 0
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT value FROM meta WHERE key = 'compacted_until_ms'").fetchone() == (
        fx.T0 + 600_000,
    )
    assert conn.execute("SELECT sum(n) FROM hedge_10m").fetchone()[0] == 600
    conn.close()
