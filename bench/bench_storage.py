"""Storage benchmarks: recorder cost per tick, rows per second, history query times over 30 days
of one-second data for 10 instruments, bytes per row and the projection per instrument-year.

The 30-day database is generated as the recorder leaves it after 30 days with the 7-day
retention: minute and hour rollups for 30 days, one-second detail for the most recent
``RAW_DAYS`` (2 days here rather than 7 to keep ``make bench`` short: the detail is read per
subject, by key range, for ranges of a few hours, so its total length does not change the query
times, and bytes per row do not depend on it). See ``build_30_days``.
"""

from __future__ import annotations

import math
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from core.snapshot import HedgeSnapshot, HoldingSnapshot, PortfolioSnapshot
from storage import migrations, schema
from storage.history import open_history
from storage.recorder import Recorder
from storage.rollup import COMPACTED_UNTIL, compact, set_meta

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
DAY = 86_400_000
N_INSTRUMENTS = 10
DAYS = 30
RAW_DAYS = 2

GOAL_TICK_MS = 1.0
GOAL_QUERY_MS = 50.0
GOAL_QUERY_10D_MS = 20.0  # issue 10: the ten-minute tier
GOAL_STALL_MS = 20.0  # a compaction step holding the file
GOAL_MB_PER_YEAR = 200.0


# --- snapshots like the engine's -------------------------------------------------------------


def _hedge(i: int, price: float, rng: random.Random) -> HedgeSnapshot:
    size = 1000.0 * (i + 1)
    entry = price * 1.01
    pnl = size * (1 / price - 1 / entry)
    return HedgeSnapshot(
        hedge_id=f"h{i}",
        venue="bybit",
        symbol=f"C{i}USD",
        coin=f"C{i}",
        hedged_coin=f"C{i}",
        beta=1.0,
        side="short",
        contracts=int(size),
        size_usd=size,
        entry=entry,
        margin_coin=size / entry,
        margin_mode="isolated",
        leverage=None,
        mark=price,
        index=price * (1 - rng.gauss(0, 3e-4)),
        last=price,
        position_value_coin=size / price,
        pnl_coin=pnl,
        pnl_usd=pnl * price,
        realized_pnl_coin=0.0,
        equity_coin=size / entry + pnl,
        maintenance_margin_coin=size / price * 0.005,
        liq_price=price * 1.8,
        liq_distance_pct=80.0 + rng.gauss(0, 1),
        basis_usd=price * 3e-4,
        basis_pct=rng.gauss(0.03, 0.01),
        basis_annual_pct=None,
        funding_rate=1e-4 + rng.gauss(0, 2e-5),
        funding_interval_ms=8 * 3_600_000,
        next_funding_ms=None,
        funding_countdown_ms=None,
        funding_apr_pct=10.95,
        funding_next_coin=None,
        funding_accrued_coin=1e-5 * i,
        funding_accrued_usd=1e-5 * i * price,
        stale=False,
    )


def _holding(i: int, price: float) -> HoldingSnapshot:
    amount = 10.0 * (i + 1) / price * 1000
    return HoldingSnapshot(
        coin=f"C{i}",
        label="wallet",
        amount_coin=amount,
        price_usd=price,
        spot_value_usd=amount * price,
        hedge_ids=(f"h{i}",),
        margin_coin=0.1,
        net_delta_coin=amount * 0.1,
        net_delta_usd=amount * 0.1 * price,
        hedge_ratio=0.9 + price * 1e-9,
        target_ratio=0.9,
        drift=0.0,
        band=0.05,
        value_usd=amount * price * 1.0001,
        unhedged_value_usd=amount * price,
        stale=False,
    )


def ticks(n_inst: int, seconds: int, *, holdings: bool, seed: int = 1) -> list[PortfolioSnapshot]:
    rng = random.Random(seed)
    prices = [100.0 * (i + 1) for i in range(n_inst)]
    out = []
    for k in range(seconds):
        prices = [p * math.exp(rng.gauss(0, 5e-4)) for p in prices]
        hedges = tuple(_hedge(i, p, rng) for i, p in enumerate(prices))
        hold = tuple(_holding(i, p) for i, p in enumerate(prices)) if holdings else ()
        total = sum(prices) * 10
        out.append(
            PortfolioSnapshot(
                ts_ms=T0 + k * 1000,
                session_start_ms=T0,
                holdings=hold,
                hedges=hedges,
                total_value_usd=total,
                unhedged_value_usd=total * 1.01,
                net_delta_usd=total * 0.1,
                session_change_usd=0.0,
                unhedged_session_change_usd=0.0,
            )
        )
    return out


# --- recorder --------------------------------------------------------------------------------


def bench_recorder(tmp: Path) -> None:
    for holdings in (False, True):
        snaps = ticks(20, 900, holdings=holdings)
        rows_per_tick = 1 + 20 + (20 if holdings else 0)
        path = tmp / f"rec{int(holdings)}.db"
        rec = Recorder(path, batch_interval_ms=3_600_000)
        per_tick: list[float] = []
        for s in snaps:
            rec.submit_snapshot(s)
            rec.flush()
            per_tick.append(rec.health().last_batch_ms)
        rec.close()
        h = rec.health()
        per_tick = per_tick[60:]  # the first minute warms caches
        what = "20 hedges + 20 holdings" if holdings else "20 hedges"
        p99 = statistics.quantiles(per_tick, n=100)[98]
        print(
            f"recorder, one tick per batch ({what}: {rows_per_tick} rows), 15 min of data: "
            f"mean {statistics.fmean(per_tick):.3f} ms, p50 {statistics.median(per_tick):.3f} ms, "
            f"p99 {p99:.3f} ms of the writer thread (goal <= {GOAL_TICK_MS:.1f} ms), slowest "
            f"{max(per_tick):.1f} ms; compactions (one per 5 min of data, after the batch): "
            f"{h.compactions} in {h.compaction_steps} one-minute steps, the longest "
            f"{h.max_compaction_step_ms:.1f} ms (goal <= {GOAL_STALL_MS:.0f} ms)"
        )
    # WAL checkpoints: run by the writer between batches, every 5 s = 5 one-tick batches
    snaps = ticks(20, 500, holdings=True)
    rec = Recorder(tmp / "ckpt.db", batch_interval_ms=3_600_000, checkpoint_every_ms=10**9)
    ckpt: list[float] = []
    for k in range(0, len(snaps), 5):
        for s in snaps[k : k + 5]:
            rec.submit_snapshot(s)
            rec.flush()
        t0 = time.perf_counter()
        rec._checkpoint()  # the writer is idle between flushes: as it does it itself
        ckpt.append((time.perf_counter() - t0) * 1000)
    rec.close()
    print(
        f"WAL checkpoint of 5 batches (20 hedges + 20 holdings), between batches: p50 "
        f"{statistics.median(ckpt):.2f} ms, max {max(ckpt):.2f} ms of the writer thread, "
        "every 5 s"
    )
    # throughput: batches of 1 s worth of ... as many ticks as arrive (here 100 per batch)
    snaps = ticks(20, 3000, holdings=True)
    path = tmp / "bulk.db"
    rec = Recorder(path, batch_interval_ms=3_600_000)
    t0 = time.perf_counter()
    for i, s in enumerate(snaps):
        rec.submit_snapshot(s)
        if i % 100 == 99:
            rec.flush()
    rec.close()
    wall = time.perf_counter() - t0
    h = rec.health()
    detail = len(snaps) * 41
    print(
        f"recorder throughput (100 ticks per batch): {detail / (h.total_write_ms / 1000):,.0f} "
        f"detail rows/s of writer time ({detail / wall:,.0f} rows/s wall, incl. submit), "
        f"{h.rows_written / (h.total_write_ms / 1000):,.0f} rows/s with events"
    )


# --- a 30-day database -----------------------------------------------------------------------


def _walk(n: int, seed: int) -> Iterator[list[float]]:
    rng = random.Random(seed)
    prices = [100.0 * (i + 1) for i in range(n)]
    while True:
        prices = [p * math.exp(rng.gauss(0, 5e-4)) for p in prices]
        yield prices


def _hrow(ts: int, sid: int, i: int, p: float) -> tuple[Any, ...]:
    """A hedge row as ``schema.hedge_row`` makes it (same columns and value types)."""
    size = 1000.0 * (i + 1)
    entry = 100.0 * (i + 1) * 1.01
    pnl = size * (1 / p - 1 / entry)
    return (
        ts, sid, int(size), size, entry, size / entry, p, p * 0.9997, pnl, pnl * p, 0.0,
        size / entry + pnl, p * 1.8, 80.0 + (p % 1.0), (p % 0.07), 1e-4 + (p % 1e-5),
        1e-5 * i, 0,
    )  # fmt: skip


def build_30_days(path: Path) -> dict[str, float]:
    """Subjects: the portfolio and 10 hedges. Rows are appended to ``<kind>_recent`` and
    compacted by ``storage.rollup.compact`` as the recorder does: one sample a minute for the
    first 28 days (folded into the rollups, then pruned from the detail like retention does),
    then one a second for the last ``RAW_DAYS`` days, compacted every 5 minutes."""
    conn = migrations.connect(path)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    sids = schema.ensure_subjects(
        conn,
        [("portfolio", "", {})]
        + [
            ("hedge", f"h{i}", {"venue": "bybit", "symbol": f"C{i}USD", "coin": f"C{i}"})
            for i in range(N_INSTRUMENTS)
        ],
    )
    hsids = [sids[("hedge", f"h{i}")] for i in range(N_INSTRUMENTS)]
    psid = sids[("portfolio", "")]
    end = T0 + DAYS * DAY
    raw_from = end - RAW_DAYS * DAY
    set_meta(conn, COMPACTED_UNTIL, T0)
    hspec = schema.KINDS["hedge"]
    hsql = (
        f"INSERT INTO hedge_recent (ts_ms, sid, {', '.join(c.name for c in hspec.columns)}) "
        f"VALUES ({', '.join('?' * (len(hspec.columns) + 2))})"
    )
    psql = (
        "INSERT INTO portfolio_recent (ts_ms, sid, value_usd, unhedged_value_usd, "
        "net_delta_usd, session_change_usd, unhedged_session_change_usd, pnl_usd, "
        "funding_accrued_usd, stale) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    walk = _walk(N_INSTRUMENTS, 7)
    times = {}
    n = 0
    for phase, (a, b, step, every) in enumerate(
        ((T0, raw_from, 60_000, 6 * 3_600_000), (raw_from, end, 1000, 300_000))
    ):
        t = time.perf_counter()
        hrows: list[tuple[Any, ...]] = []
        prows: list[tuple[Any, ...]] = []
        for ts in range(a, b, step):
            prices = next(walk)
            hrows += [_hrow(ts, hsids[i], i, p) for i, p in enumerate(prices)]
            total = sum(prices) * 10
            prows.append((ts, psid, total, total * 1.01, 1.0, 0.0, 0.0, -5.0, 0.1, 0))
            n += phase
            if (ts + step) % every == 0:  # a batch, then the compaction
                conn.execute("BEGIN")
                conn.executemany(hsql, hrows)
                conn.executemany(psql, prows)
                compact(conn, ts + step)
                conn.execute("COMMIT")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                hrows, prows = [], []
        if phase == 0:  # retention: the detail of the first 28 days is gone
            conn.execute("DELETE FROM hedge_tick WHERE sid IN (SELECT sid FROM subjects) "
                         "AND ts_ms < ?", (raw_from,))  # fmt: skip
            conn.execute("DELETE FROM portfolio_tick WHERE sid = ? AND ts_ms < ?", (psid, raw_from))
        times[f"phase{phase}"] = time.perf_counter() - t
    conn.close()
    return {"rollups_s": times["phase0"], "detail_s": times["phase1"], "ticks": n}


def bench_recorder_on_big(path: Path) -> None:
    """The recorder continuing the 30-day file (10 hedges): batches and compactions there."""
    import dataclasses

    conn = sqlite3.connect(path)
    last = conn.execute(
        "SELECT max(m) FROM (SELECT max(ts_ms) AS m FROM portfolio_recent UNION ALL "
        "SELECT max(ts_ms) FROM portfolio_tick WHERE sid = "
        "(SELECT sid FROM subjects WHERE kind = 'portfolio'))"
    ).fetchone()[0]
    conn.close()
    snaps = [
        dataclasses.replace(
            s,
            ts_ms=last + 1000 * (k + 1),
            hedges=tuple(dataclasses.replace(h, hedge_id=f"h{i}") for i, h in enumerate(s.hedges)),
        )
        for k, s in enumerate(ticks(N_INSTRUMENTS, 900, holdings=False))
    ]
    rec = Recorder(path, batch_interval_ms=3_600_000, raw_retention_ms=None)
    per_tick = []
    for s in snaps:
        rec.submit_snapshot(s)
        rec.flush()
        per_tick.append(rec.health().last_batch_ms)
    rec.close()
    h = rec.health()
    p99 = statistics.quantiles(per_tick, n=100)[98]
    print(
        f"recorder continuing the 30-day file, one tick per batch ({N_INSTRUMENTS} hedges): mean "
        f"{statistics.fmean(per_tick):.3f} ms, p50 {statistics.median(per_tick):.3f} ms, p99 "
        f"{p99:.3f} ms (goal <= {GOAL_TICK_MS:.1f} ms per tick), the slowest batch "
        f"{max(per_tick):.1f} ms; {h.compactions} compactions in {h.compaction_steps} steps, "
        f"the longest {h.max_compaction_step_ms:.1f} ms (goal <= {GOAL_STALL_MS:.0f} ms)"
    )


def _time(fn: Callable[[], Any], repeat: int = 7) -> tuple[float, float]:
    """(first call ms, median of the following calls ms)."""
    t = time.perf_counter()
    fn()
    first = (time.perf_counter() - t) * 1000
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return first, statistics.median(times)


def bench_queries(path: Path) -> None:
    end = T0 + DAYS * DAY - 1000
    cases = [
        ("30 d, one hedge", 30 * DAY, "h3"),
        ("30 d, portfolio", 30 * DAY, None),
        ("10 d, one hedge", 10 * DAY, "h3"),
        ("7 d, one hedge", 7 * DAY, "h3"),
        ("24 h, one hedge", DAY, "h3"),
        ("4 h, one hedge", 4 * 3_600_000, "h3"),
        ("1 h, one hedge", 3_600_000, "h3"),
    ]
    with open_history(path) as hist:
        for label, span, subject in cases:
            start = end - span
            plan = hist.plan(start, end, subject=subject, max_points=500)
            res: dict[str, Any] = {}

            def q(
                start: int = start, subject: str | None = subject, res: dict[str, Any] = res
            ) -> None:
                res["s"] = hist.series(start, end, subject=subject, max_points=500)

            first, med = _time(q)
            pts = len(res["s"]["n"])
            goal = GOAL_QUERY_10D_MS if span == 10 * DAY else GOAL_QUERY_MS
            print(
                f"history {label}: {pts} points of {len(res['s'])} series from "
                f"{plan.source} ({plan.bucket_ms // 1000} s buckets): first {first:.1f} ms, "
                f"then {med:.1f} ms (goal <= {goal:.0f} ms)"
            )
        # 500 points on the ladder give 2-hour buckets (360 points from the hour rollup);
        # forcing 90-minute buckets gives 480 points from the ten-minute rollup: 4,320 rows
        start = end - 30 * DAY
        src = hist.plan(start, end, subject="h3", bucket_ms=90 * 60_000).source
        first, med = _time(lambda: hist.series(start, end, subject="h3", bucket_ms=90 * 60_000))
        print(
            f"history 30 d, one hedge, forced 90 min buckets: 480 points from {src}, all 16 "
            f"series: first {first:.1f} ms, then {med:.1f} ms (goal <= {GOAL_QUERY_MS:.0f} ms)"
        )
        keys = ["pnl_usd", "liq_distance_pct"]
        first, med = _time(
            lambda: hist.series(start, end, subject="h3", bucket_ms=90 * 60_000, keys=keys)
        )
        print(
            f"history 30 d, one hedge, forced 90 min buckets, 2 series ({', '.join(keys)}): "
            f"first {first:.1f} ms, then {med:.1f} ms"
        )
        first, med = _time(lambda: hist.events(end - 30 * DAY, end))
        print(f"history events, 30 d: first {first:.1f} ms, then {med:.1f} ms")


def bench_bytes(path: Path) -> None:
    conn = sqlite3.connect(path)
    sizes = dict(conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall())
    per_row: dict[str, float] = {}
    for table in (
        "hedge_tick",
        "hedge_1m",
        "hedge_10m",
        "hedge_1h",
        "portfolio_tick",
        "portfolio_1m",
    ):
        n = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        per_row[table] = sizes.get(table, 0) / max(n, 1)
        mb = sizes.get(table, 0) / 1e6
        print(f"{table}: {n:,} rows, {mb:.1f} MB, {per_row[table]:.0f} bytes/row")
    conn.close()
    conn = sqlite3.connect(path)
    free = conn.execute("PRAGMA freelist_count").fetchone()[0] * schema.PAGE_SIZE / 1e6
    conn.close()
    print(
        f"file: {path.stat().st_size / 1e6:.1f} MB, of which {free:.1f} MB free pages "
        "(pruned detail, reused by later writes)"
    )
    year = (
        per_row["hedge_tick"] * 7 * 86_400
        + per_row["hedge_1m"] * 365 * 1440
        + per_row["hedge_10m"] * 365 * 144
        + per_row["hedge_1h"] * 365 * 24
    )
    print(
        f"projection per instrument-year (7 d of 1-s detail + 1 y of 1-min, 10-min and 1-h "
        f"rollups, "
        f"one hedge): {year / 1e6:.0f} MB (goal <= {GOAL_MB_PER_YEAR:.0f} MB)"
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="hedgetop-bench-") as d:
        tmp = Path(d)
        bench_recorder(tmp)
        path = tmp / "30d.db"
        t = time.perf_counter()
        info = build_30_days(path)
        print(
            f"generated 30 d x {N_INSTRUMENTS} instruments: 28 d of minutes folded "
            f"{info['rollups_s']:.1f} s, "
            f"{RAW_DAYS} d of detail appended and compacted {info['detail_s']:.1f} s "
            f"({info['ticks'] * (N_INSTRUMENTS + 1) / info['detail_s']:,.0f} rows/s), total "
            f"{time.perf_counter() - t:.1f} s"
        )
        bench_queries(path)
        bench_bytes(path)
        bench_recorder_on_big(path)


if __name__ == "__main__":
    main()
