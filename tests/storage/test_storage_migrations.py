"""Schema versions: a fresh file, an upgrade from v1, files this version cannot read."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import storage_factories as fx

from storage import migrations, schema
from storage.events import insert_fills
from storage.history import HistoryError, open_history
from storage.recorder import Recorder, StorageError
from storage.rollup import compact, rebuild_rollups


def _dump(conn: sqlite3.Connection, table: str) -> list[tuple[object, ...]]:
    return conn.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()


def _approx_rows(a: list[tuple[object, ...]], b: list[tuple[object, ...]]) -> None:
    assert len(a) == len(b)
    for ra, rb in zip(a, b, strict=True):
        for x, y in zip(ra, rb, strict=True):
            if isinstance(x, float) and isinstance(y, float):
                assert x == pytest.approx(y, rel=1e-12, abs=1e-12)
            else:
                assert x == y


def test_fresh_file_is_current_and_matches_the_spec(tmp_path: Path) -> None:
    conn = migrations.connect(tmp_path / "h.db")
    assert schema.user_version(conn) == schema.SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA page_size").fetchone()[0] == schema.PAGE_SIZE
    for spec in schema.KINDS.values():
        cols = schema.table_columns(conn, spec.raw_table)
        assert cols == ["sid", "ts_ms", *(c.name for c in spec.columns)]
        for res, _ms in schema.RESOLUTIONS:
            cols = schema.table_columns(conn, spec.rollup_table(res))
            assert cols == ["sid", "bucket_ms", *(n for n, _t in spec.rollup_columns())]
    # connecting again is a no-op
    conn.close()
    conn = migrations.connect(tmp_path / "h.db")
    assert schema.user_version(conn) == schema.SCHEMA_VERSION
    conn.close()


def test_upgrade_from_v1_backfills_the_rollups(tmp_path: Path) -> None:
    snaps = list(fx.market(2, 150, start_ms=fx.T0 + 30_000))
    # the same data recorded by the current version, for reference
    ref = tmp_path / "ref.db"
    with Recorder(ref) as rec:
        for s in snaps:
            rec.submit_snapshot(s)
    # a v1 file: detail only, written the way v1 wrote it
    old = tmp_path / "old.db"
    conn = migrations.connect(old, target=1)
    assert schema.user_version(conn) == 1
    assert "hedge_1m" not in {
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    refc = sqlite3.connect(ref, isolation_level=None)
    conn.executemany(
        "INSERT INTO subjects VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _dump(refc, "subjects")
    )
    for spec in schema.KINDS.values():
        rows = refc.execute(
            f"SELECT * FROM {spec.raw_table} UNION ALL SELECT * FROM {spec.recent_table} "
            "ORDER BY sid, ts_ms"
        ).fetchall()
        marks = ", ".join("?" * len(rows[0]))
        conn.executemany(f"INSERT INTO {spec.raw_table} VALUES ({marks})", rows)
    conn.close()

    # v1 is readable as it is (from the detail), before any upgrade
    with open_history(old) as hist:
        assert not hist.has_rollups
        v1_series = hist.series(fx.T0, fx.T0 + 200_000, subject="bybit-btc", max_points=3)

    conn = migrations.connect(old)  # migrates
    assert schema.user_version(conn) == schema.SCHEMA_VERSION
    refc.execute("BEGIN")
    compact(refc, fx.T0 + 86_400_000)  # the reference, compacted through the end
    refc.execute("COMMIT")
    for spec in schema.KINDS.values():
        for res, _ms in schema.RESOLUTIONS:
            table = spec.rollup_table(res)
            _approx_rows(_dump(conn, table), _dump(refc, table))
    conn.close()
    with open_history(old) as hist:
        assert hist.plan(fx.T0, fx.T0 + 200_000, subject="bybit-btc", max_points=3).source == "1m"
        v2_series = hist.series(fx.T0, fx.T0 + 200_000, subject="bybit-btc", max_points=3)
    assert v2_series.keys() == v1_series.keys()
    for key, points in v1_series.items():
        assert [t for t, _ in v2_series[key]] == [t for t, _ in points]
        for (_, a), (_, b) in zip(v2_series[key], points, strict=True):
            assert a == pytest.approx(b, rel=1e-12)


def test_incremental_rollups_equal_a_rebuild_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    snaps = list(fx.market(2, 200, start_ms=fx.T0 + 45_000))
    for part in (snaps[:70], snaps[70:71], snaps[71:]):  # restart mid-minute, twice
        with Recorder(path, batch_interval_ms=10_000) as rec:
            for s in part:
                rec.submit_snapshot(s)
    conn = sqlite3.connect(path, isolation_level=None)
    tables = [
        spec.rollup_table(res) for spec in schema.KINDS.values() for res, _ in schema.RESOLUTIONS
    ]
    conn.execute("BEGIN")
    compact(conn, fx.T0 + 3_600_000)  # fold the recent rows too
    before = {t: _dump(conn, t) for t in tables}
    for t in tables:
        conn.execute(f"DELETE FROM {t}")
    rebuild_rollups(conn)
    for t in tables:
        _approx_rows(_dump(conn, t), before[t])
    conn.execute("ROLLBACK")
    conn.close()


def test_newer_schema_is_refused_with_its_version(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    conn = migrations.connect(path)
    conn.execute("UPDATE schema_version SET version = 99")
    conn.close()
    with pytest.raises(StorageError, match="version 99 is newer"):
        Recorder(path)
    with pytest.raises(HistoryError, match="version 99 is newer"):
        open_history(path)


def test_not_a_database_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, not sqlite\n" * 100)
    with pytest.raises(HistoryError, match=r"notes\.txt"):
        open_history(path)
    with pytest.raises(StorageError, match=r"notes\.txt"):
        Recorder(path)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    with pytest.raises(HistoryError, match="not a hedgetop history database"):
        open_history(other)


def test_upgrade_from_v3_back_fills_the_ten_minute_tier(tmp_path: Path) -> None:
    """A v3 file (minute and hour rollups only) gains a ten-minute tier equal to what the
    recorder would have folded had it been there all along."""
    path = tmp_path / "h.db"
    with Recorder(path, batch_interval_ms=60_000) as rec:
        for s in fx.market(2, 2_000, start_ms=fx.T0 + 17_000):
            rec.submit_snapshot(s)
    conn = sqlite3.connect(path, isolation_level=None)
    want = {spec.kind: _dump(conn, spec.rollup_table("10m")) for spec in schema.KINDS.values()}
    assert all(want.values())
    for spec in schema.KINDS.values():  # back to v3
        conn.execute(f"DROP TABLE {spec.rollup_table('10m')}")
    conn.execute("UPDATE schema_version SET version = 3")
    conn.close()
    conn = migrations.connect(path)
    assert schema.user_version(conn) == schema.SCHEMA_VERSION
    for spec in schema.KINDS.values():
        _approx_rows(_dump(conn, spec.rollup_table("10m")), want[spec.kind])
    conn.close()


def test_upgrade_from_v4_adds_the_account_tables_and_keeps_the_fills(tmp_path: Path) -> None:
    """A v4 file gains the exchange account's tables (issue 12), empty and usable, and what it
    held is untouched."""
    path = tmp_path / "h.db"
    conn = migrations.connect(path, target=4)
    assert "exchange_fills" not in {
        r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
    }
    insert_fills(conn, [fx.fill()])
    before = _dump(conn, "fills")
    conn.close()
    conn = migrations.connect(path)
    assert schema.user_version(conn) == schema.SCHEMA_VERSION == 7
    assert _dump(conn, "fills") == before
    for table in ("exchange_fills", "exchange_funding", "reconcile_events"):
        assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    natural = {r[1] for r in conn.execute("PRAGMA index_list(exchange_fills)") if r[2]}
    assert "exchange_fills_natural" in natural
    conn.close()
