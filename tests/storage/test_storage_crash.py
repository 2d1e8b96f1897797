"""Crash safety: a recorder process killed with SIGKILL leaves a sound database."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import storage_factories as fx

from storage.recorder import Recorder

CHILD = r"""
import sys, importlib.util
spec = importlib.util.spec_from_file_location("fx", sys.argv[2])
fx = importlib.util.module_from_spec(spec); spec.loader.exec_module(fx)
from storage.recorder import Recorder
rec = Recorder(sys.argv[1], batch_interval_ms=20)
n = 0
for snap in fx.market(5, 10**6):
    rec.submit_snapshot(snap)
    rec.submit_fill(fx.fill(snap.ts_ms))
    n += 1
    if n % 50 == 0:
        assert rec.flush()
        print(n, flush=True)
"""


def test_sigkill_loses_at_most_the_last_batch(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    factories = Path(__file__).with_name("factories.py")
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(factories)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parents[2],
    )
    assert proc.stdout is not None
    flushed = 0
    deadline = time.monotonic() + 20
    try:
        while flushed < 400 and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            flushed = int(line)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    assert proc.returncode == -signal.SIGKILL
    assert flushed >= 400

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

    def one(sql: str) -> int:
        return int(conn.execute(sql).fetchone()[0])

    compacted = one("SELECT count(*) FROM portfolio_tick")
    snaps = compacted + one("SELECT count(*) FROM portfolio_recent")
    fills = one("SELECT count(*) FROM fills")
    # everything flushed is there; what followed is there only in whole batches
    assert snaps >= flushed
    assert snaps - 1 <= fills <= snaps  # a batch may end between a snapshot and its fill
    hedges = one("SELECT count(*) FROM hedge_tick") + one("SELECT count(*) FROM hedge_recent")
    assert hedges == 5 * snaps
    # compactions happened (5 min of data every 300 snapshots), each one whole
    assert compacted >= 300
    until = one("SELECT value FROM meta WHERE key = 'compacted_until_ms'")
    assert one(f"SELECT count(*) FROM portfolio_recent WHERE ts_ms < {until}") == 0
    assert one("SELECT max(ts_ms) FROM portfolio_tick") < until
    assert one("SELECT sum(n) FROM portfolio_1m") == compacted
    assert one("SELECT sum(n) FROM hedge_1h") == 5 * compacted
    last = one("SELECT max(ts_ms) FROM portfolio_recent")
    conn.close()

    # and recording goes on from there
    with Recorder(path) as rec:
        rec.submit_snapshot(fx.snapshot(last + 1000, (fx.hedge("bybit-btc"),)))
        assert rec.flush()
        assert rec.health().snapshots_written == 1
