"""History series against a brute-force Python computation on the same generated data."""

from __future__ import annotations

import math
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
import storage_factories as fx

from core.snapshot import PortfolioSnapshot
from storage import schema
from storage.history import HistoryError, choose_bucket, open_history
from storage.recorder import Recorder

SECONDS = 2 * 3600 + 1234  # a bit over two hours, not aligned to the hour
N_COINS = 2

Getter = Callable[[PortfolioSnapshot], Any]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[PortfolioSnapshot]]:
    path = tmp_path_factory.mktemp("ds") / "h.db"
    snaps = list(fx.market(N_COINS, SECONDS, start_ms=fx.T0 + 1_700, step_ms=1000))
    with Recorder(path, batch_interval_ms=60_000) as rec:
        for i, s in enumerate(snaps):
            rec.submit_snapshot(s)
            if i % 2000 == 1999:  # several batches, bucket boundaries crossing batches
                assert rec.flush()
    return path, snaps


def _row(snap: PortfolioSnapshot, kind: str, key: str) -> tuple[Any, ...]:
    if kind == "portfolio":
        return schema.portfolio_row(snap)
    if kind == "holding":
        return schema.holding_row(next(h for h in snap.holdings if h.coin == key))
    return schema.hedge_row(next(h for h in snap.hedges if h.hedge_id == key))


def brute(
    snaps: Sequence[PortfolioSnapshot],
    *,
    kind: str,
    key: str,
    start: int,
    end: int,
    width: int,
) -> dict[str, list[tuple[int, float | None]]]:
    lo = start - start % width
    hi = end - end % width + width
    buckets: dict[int, list[PortfolioSnapshot]] = {}
    for s in snaps:
        if lo <= s.ts_ms < hi:
            buckets.setdefault(s.ts_ms - s.ts_ms % width, []).append(s)
    out: dict[str, list[tuple[int, float | None]]] = {"n": []}
    spec = schema.KINDS[kind]
    for t in sorted(buckets):
        group = sorted(buckets[t], key=lambda s: s.ts_ms)
        rows = [_row(s, kind, key) for s in group]
        out["n"].append((t, float(len(group))))
        for r in spec.rolled:
            values = [row[spec.column_index(r.name)] for row in rows]
            present = [v for v in values if v is not None]
            for agg in r.aggs:
                name = r.name if agg == r.primary else f"{r.name}.{agg}"
                v: float | None
                if agg == "last":
                    v = values[-1]
                elif agg == "min":
                    v = min(present) if present else None
                elif agg == "max":
                    v = max(present) if present else None
                elif agg == "avg":
                    v = sum(present) / len(present) if present else None
                else:
                    v = float(sum(present))
                out.setdefault(name, []).append((t, None if v is None else float(v)))
    return out


def _same(got: dict[str, list[Any]], want: dict[str, list[Any]]) -> None:
    assert set(got) == set(want)
    for name, points in want.items():
        assert [t for t, _ in got[name]] == [t for t, _ in points], name
        for (t, a), (_, b) in zip(got[name], points, strict=True):
            if a is None or b is None:
                assert a is b, (name, t)
            else:
                assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9), (name, t, a, b)


CASES = [
    # (subject, kind, key, start offset s, length s, max_points, expected source)
    (None, "portfolio", "", 95, 900, 500, "tick"),
    ("bybit-eth", "hedge", "bybit-eth", 10, 3000, 500, "tick"),
    ("bybit-btc", "hedge", "bybit-btc", 0, 2 * 3600, 100, "1m"),
    ("ETH", "holding", "ETH", 333, 2 * 3600, 30, "1m"),
    ("bybit-eth", "hedge", "bybit-eth", 0, SECONDS, 3, "1h"),
    (None, "portfolio", "", 61, SECONDS, 2, "1h"),
    # across the last compaction: compacted detail/rollups merged with the recent rows
    ("bybit-btc", "hedge", "bybit-btc", SECONDS - 500, 500, 500, "tick"),
    ("BTC", "holding", "BTC", SECONDS - 7000, 7000, 100, "1m"),
]


@pytest.mark.parametrize("case", CASES)
def test_series_match_brute_force(
    recorded: tuple[Path, list[PortfolioSnapshot]], case: tuple[Any, ...]
) -> None:
    subject, kind, key, off, length, points, source = case
    path, snaps = recorded
    start = fx.T0 + off * 1000
    end = start + length * 1000
    with open_history(path) as hist:
        plan = hist.plan(start, end, subject=subject, max_points=points)
        assert plan.source == source
        got = hist.series(start, end, subject=subject, max_points=points)
    assert 0 < len(got["n"]) <= points
    assert sum(v or 0 for _t, v in got["n"]) > 0
    want = brute(snaps, kind=kind, key=key, start=start, end=end, width=plan.bucket_ms)
    _same(got, want)


@pytest.mark.parametrize(
    ("width", "source"), [(7_000, "tick"), (180_000, "1m"), (1_800_000, "10m"), (7_200_000, "1h")]
)
def test_forced_bucket_width(
    recorded: tuple[Path, list[PortfolioSnapshot]], width: int, source: str
) -> None:
    path, snaps = recorded
    start, end = fx.T0, snaps[-1].ts_ms
    with open_history(path) as hist:
        assert hist.plan(start, end, subject="ETH", bucket_ms=width).source == source
        got = hist.series(start, end, subject="ETH", bucket_ms=width)
        with pytest.raises(HistoryError, match="whole seconds"):
            hist.series(start, end, bucket_ms=1500)
    _same(got, brute(snaps, kind="holding", key="ETH", start=start, end=end, width=width))


def test_bucket_width_is_smallest_fitting_rung() -> None:
    start = fx.T0 + 123
    assert choose_bucket(start, start + 499_000, 500) == 1000
    width = choose_bucket(start, start + 30 * 86_400_000, 500)
    assert width == 2 * 3_600_000  # 90 min would be needed; the next rung up is 2 h
    assert choose_bucket(start, start + 3_600_000, 500, min_ms=60_000) == 60_000
    far = choose_bucket(start, start + 20 * 365 * 86_400_000, 500)
    assert (20 * 365 * 86_400_000) // far + 1 <= 500


def test_series_after_raw_pruned_reads_rollups(tmp_path: Path) -> None:
    """Once the one-second detail of a range is pruned, a short range reads the minute
    rollup (coarser points) instead of returning nothing."""
    path = tmp_path / "h.db"
    snaps = list(fx.market(1, 600, start_ms=fx.T0))
    with Recorder(path, raw_retention_ms=120_000) as rec:
        for s in snaps:
            rec.submit_snapshot(s)
    with open_history(path) as hist:
        start, end = fx.T0, fx.T0 + 300_000
        plan = hist.plan(start, end, subject="bybit-btc")
        assert plan.source == "1m"
        got = hist.series(start, end, subject="bybit-btc")
    want = brute(snaps, kind="hedge", key="bybit-btc", start=start, end=end, width=plan.bucket_ms)
    _same(got, want)


def test_fixture_spans_compacted_and_recent_rows(
    recorded: tuple[Path, list[PortfolioSnapshot]],
) -> None:
    """The cases above read both sides of the compaction mark."""
    path, snaps = recorded
    conn = sqlite3.connect(path)
    until = conn.execute("SELECT value FROM meta WHERE key = 'compacted_until_ms'").fetchone()[0]
    recent = conn.execute("SELECT count(*), min(ts_ms) FROM hedge_recent").fetchone()
    conn.close()
    assert snaps[-1].ts_ms - 300_000 < until <= snaps[-1].ts_ms
    assert recent[0] > 0
    assert recent[1] >= until


def test_only_the_series_asked_for(recorded: tuple[Path, list[PortfolioSnapshot]]) -> None:
    path, snaps = recorded
    start, end = fx.T0, snaps[-1].ts_ms
    with open_history(path) as hist:
        full = hist.series(start, end, subject="bybit-btc", max_points=20)
        part = hist.series(start, end, subject="bybit-btc", max_points=20, keys=["basis_pct.min"])
        assert set(part) == {"basis_pct", "basis_pct.min", "basis_pct.max", "n"}
        for k, v in part.items():
            assert v == full[k]
        with pytest.raises(HistoryError, match="no series nope for a hedge"):
            hist.series(start, end, subject="bybit-btc", keys=["nope"])
