"""Reading while the recorder writes; the ledger writing beside the recorder."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import storage_factories as fx

from storage.history import open_history
from storage.ledger import SqliteLedger
from storage.recorder import Recorder


def test_history_reads_while_the_recorder_writes(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    snaps = list(fx.market(5, 1500))
    rec = Recorder(path, batch_interval_ms=1)
    rec.submit_snapshot(snaps[0])
    assert rec.flush()
    done = threading.Event()
    errors: list[BaseException] = []

    def write() -> None:
        try:
            for s in snaps[1:]:
                rec.submit_snapshot(s)
            assert rec.flush()
        except BaseException as exc:  # reported to the test thread
            errors.append(exc)
        finally:
            done.set()

    writer = threading.Thread(target=write)
    seen: list[int] = []
    with open_history(path) as hist:
        writer.start()
        reads = 0
        while not done.is_set() or reads < 5:
            data = hist.series(fx.T0, fx.T0 + 1_500_000, subject="bybit-btc", max_points=50)
            total = int(sum(v for _t, v in data["n"] if v is not None))
            seen.append(total)
            bounds = hist.bounds()
            assert bounds is not None
            assert bounds[0] == fx.T0
            reads += 1
        writer.join(10)
        final = hist.series(fx.T0, fx.T0 + 1_500_000, subject="bybit-btc", max_points=50)
    rec.close()
    assert not errors
    assert seen == sorted(seen)  # every read saw a committed prefix, never a torn batch
    assert seen[0] >= 1
    assert sum(v or 0 for _t, v in final["n"]) == 1500


def test_ledger_and_recorder_share_the_file(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    ledger = SqliteLedger(path)
    rec = Recorder(path, batch_interval_ms=1)
    fills = [fx.fill(fx.T0 + i, contracts=1 + i % 7) for i in range(100)]

    def record() -> None:
        for s in fx.market(10, 300):
            rec.submit_snapshot(s)

    t = threading.Thread(target=record)
    t.start()
    for f in fills:
        ledger.append_fill(f)
        # durable and visible to anyone as soon as append_fill returned
        other = sqlite3.connect(path)
        assert (
            other.execute("SELECT count(*) FROM fills WHERE ts_ms = ?", (f.ts_ms,)).fetchone()[0]
            == 1
        )
        other.close()
    t.join(10)
    assert rec.flush()
    rec.close()
    assert rec.health().errors == 0
    ledger.close()
    with SqliteLedger(path) as again:
        assert again.load() == fills
