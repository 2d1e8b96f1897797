"""Snapshots, fills, funding and alerts go in through the recorder and come back out."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import storage_factories as fx

from core.events import AlertState
from storage import schema
from storage.history import HistoryError, open_history
from storage.ledger import SqliteLedger
from storage.recorder import Recorder
from tui.event_text import event_text


def test_snapshot_rows_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    snaps = list(fx.market(3, 5))
    with Recorder(path) as rec:
        for s in snaps:
            assert rec.submit_snapshot(s)
        assert rec.flush()
        assert rec.health().snapshots_written == 5
    conn = sqlite3.connect(path)
    for kind, get in (
        ("hedge", lambda s: [schema.hedge_row(h) for h in s.hedges]),
        ("holding", lambda s: [schema.holding_row(h) for h in s.holdings]),
        ("portfolio", lambda s: [schema.portfolio_row(s)]),
    ):
        spec = schema.KINDS[kind]
        names = ", ".join(c.name for c in spec.columns)
        got = conn.execute(
            f"SELECT {names} FROM (SELECT * FROM {spec.raw_table} UNION ALL "
            f"SELECT * FROM {spec.recent_table}) ORDER BY ts_ms, sid"
        ).fetchall()
        want = [tuple(r) for s in snaps for r in get(s)]
        assert got == want, kind
    # hedge rows are keyed by subject ids naming venue/symbol/coin once
    subj = conn.execute(
        "SELECT key, venue, symbol, coin FROM subjects WHERE kind = 'hedge' ORDER BY key"
    ).fetchall()
    assert subj == [
        ("bybit-btc", "bybit", "BTCUSD", "BTC"),
        ("bybit-eth", "bybit", "ETHUSD", "ETH"),
        ("bybit-sol", "bybit", "SOLUSD", "SOL"),
    ]
    assert conn.execute("SELECT start_ms, end_ms, ticks FROM sessions").fetchall() == [
        (fx.T0, fx.T0 + 4000, 5)
    ]


def test_series_at_one_second_equal_the_snapshots(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    snaps = list(fx.market(2, 20))
    with Recorder(path) as rec:
        for s in snaps:
            rec.submit_snapshot(s)
    with open_history(path) as hist:
        got = hist.series(fx.T0, fx.T0 + 19_000, subject="bybit-eth")
        assert hist.bounds() == (fx.T0, fx.T0 + 19_000)
        assert [s.name for s in hist.subjects()] == [
            "portfolio",
            "BTC",
            "ETH",
            "bybit-btc",
            "bybit-eth",
        ]
    marks = [(s.ts_ms, s.hedge("bybit-eth").mark) for s in snaps]  # type: ignore[union-attr]
    assert got["mark_usd"] == marks
    assert got["n"] == [(s.ts_ms, 1.0) for s in snaps]


def test_events_round_trip_and_are_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    fill = fx.fill(fx.T0 + 1000)
    other = fx.fill(fx.T0 + 5000, hedge_id="okx-eth", contracts=7)
    fund = fx.funding(fx.T0 + 2000)
    raised = fx.alert(fx.T0 + 3000)
    cleared = fx.alert(fx.T0 + 4000, state=AlertState.CLEARED)
    with SqliteLedger(path) as ledger, Recorder(path) as rec:
        ledger.append_fill(fill)  # the engine's durable path ...
        rec.submit_fill(fill)  # ... and the recorder's copy of the same fact
        rec.submit_fill(other)
        rec.submit_funding(fund)
        rec.submit_funding(fund)
        rec.submit_alert(raised)
        rec.submit_alert(cleared)
        assert rec.flush()
        assert ledger.load() == [fill, other]
        assert ledger.load_funding() == [fund]
    with open_history(path) as hist:
        events = hist.events(fx.T0, fx.T0 + 10_000)
        assert [(e.kind, e.event) for e in events] == [
            ("fill", fill),
            ("funding", fund),
            ("alert", raised),
            ("alert", cleared),
            ("fill", other),
        ]
        assert "USD" in event_text(events[0])
        assert "BTC" in event_text(events[1])
        mine = hist.events(fx.T0, fx.T0 + 10_000, "bybit-btc")
        assert [e.event for e in mine] == [fill, fund, raised, cleared]
        assert hist.events(fx.T0 + 1500, fx.T0 + 2500) == [events[1]]


def test_unknown_subject_names_the_known_ones(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    with Recorder(path) as rec:
        rec.submit_snapshot(fx.snapshot(fx.T0, (fx.hedge(),), (fx.holding(),)))
    with open_history(path) as hist:
        with pytest.raises(HistoryError, match=r"unknown subject 'DOGE'.*bybit-btc"):
            hist.series(fx.T0, fx.T0 + 1, subject="DOGE")
        assert hist.subject("hedge:bybit-btc").kind == "hedge"
        assert hist.subject("btc").kind == "holding"
        assert hist.subject("bybit:BTCUSD").key == "bybit-btc"
        assert hist.subject(None).kind == "portfolio"


def test_empty_database_has_no_bounds(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    Recorder(path).close()
    with open_history(path) as hist:
        assert hist.bounds() is None
        assert hist.series(fx.T0, fx.T0 + 60_000)["n"] == []


def test_a_copy_of_the_file_alone_reads_the_same(tmp_path: Path) -> None:
    """A database written by ``hedgetop record`` elsewhere and copied here (the .db file only,
    without -wal/-shm) reads like the original."""
    path = tmp_path / "server" / "h.db"
    path.parent.mkdir()
    with Recorder(path) as rec:
        for s in fx.market(2, 400):
            rec.submit_snapshot(s)
        rec.submit_fill(fx.fill(fx.T0 + 10_000))
    copy = tmp_path / "laptop" / "h.db"
    copy.parent.mkdir()
    copy.write_bytes(path.read_bytes())
    with open_history(path) as a, open_history(copy) as b:
        assert a.bounds() == b.bounds() == (fx.T0, fx.T0 + 399_000)
        for points in (500, 5):
            assert a.series(fx.T0, fx.T0 + 399_000, subject="ETH", max_points=points) == (
                b.series(fx.T0, fx.T0 + 399_000, subject="ETH", max_points=points)
            )
        assert a.events(fx.T0, fx.T0 + 399_000) == b.events(fx.T0, fx.T0 + 399_000)


def test_sessions(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    first = fx.market(1, 30, start_ms=fx.T0)
    later = fx.market(1, 10, start_ms=fx.T0 + 3_600_000)
    with Recorder(path) as rec:
        for s in first:
            rec.submit_snapshot(s)
    with Recorder(path) as rec:
        for s in later:
            rec.submit_snapshot(s)
    with open_history(path) as hist:
        assert hist.sessions() == [
            (fx.T0, fx.T0 + 29_000, 30),
            (fx.T0 + 3_600_000, fx.T0 + 3_609_000, 10),
        ]
