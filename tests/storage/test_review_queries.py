"""The hedge review read from a recorded file equals ``core.review`` of what was recorded;
``hedgetop history --review`` prints it (text and JSON). The book is the demo's at a price
path, recorded through the recorder, with a paper fill (its mark kept) and a settlement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.demo import demo_config, start_prices
from core.events import FundingEvent
from core.forecast import DAY_MS
from core.offline import engine_at_prices
from core.review import review
from storage.history import open_history
from storage.recorder import Recorder
from storage.review_queries import funding_rate_stats, hedge_review
from tui.cli import main

T0 = 1_767_225_600_000
STEP = 1000


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list, list]:  # type: ignore[type-arg]
    path = tmp_path_factory.mktemp("review") / "h.db"
    base = start_prices()
    snaps = []
    fills = []
    cfg = demo_config()
    with Recorder(path, batch_interval_ms=60_000) as rec:
        for k in range(300):
            f = 1.0 + 0.02 * ((k % 40) - 20) / 20  # a saw-tooth ±2 %
            prices = {c: p * f for c, p in base.items()}
            engine = engine_at_prices(cfg, prices, T0 + k * STEP, funding_rates={"BTC": 0.0001})
            if k == 150:
                plan = engine.plan_resize("btc-bybit", delta_contracts=1000, now_ms=T0 + k * STEP)
                fill = engine.execute(plan, T0 + k * STEP)
                fills.append(fill)
                rec.submit_fill(fill)
            snap = engine.snapshot(T0 + k * STEP)
            snaps.append(snap)
            rec.submit_snapshot(snap)
        rec.submit_funding(
            FundingEvent(ts_ms=T0 + 200 * STEP, hedge_id="btc-bybit", venue="bybit",
                         symbol="BTCUSD", rate=0.0001, mark=base["BTC"], size_usd=1.5e5,
                         amount_coin=0.0001)
        )  # fmt: skip
    return path, snaps, fills


def test_review_from_the_file_is_the_review_of_the_snapshots(recorded) -> None:  # type: ignore[no-untyped-def]
    path, snaps, fills = recorded
    end = T0 + 299 * STEP
    with open_history(path) as hist:
        r = hedge_review(hist, T0, end)
        stats = funding_rate_stats(hist, end)
    points = [(s.ts_ms, s.total_value_usd, s.unhedged_value_usd) for s in snaps]
    ref = review(points, fills, [], [], start_ms=T0, end_ms=end)
    assert r.points == 300
    assert r.variance == pytest.approx(ref.variance, rel=1e-9)
    assert r.unhedged_variance == pytest.approx(ref.unhedged_variance, rel=1e-9)
    assert r.variance_cut_pct is not None
    assert r.variance_cut_pct > 50  # the demo is mostly hedged
    assert r.fills == 1
    assert r.slippage_unknown_fills == 0  # the mark was kept with the fill
    assert r.slippage_usd == pytest.approx(ref.slippage_usd)
    assert r.slippage_usd < 0  # the paper broker fills 2 bps off the mark
    assert r.fees_usd < 0
    assert r.settlements == 1
    assert r.funding_received_usd == pytest.approx(0.0001 * start_prices()["BTC"])
    assert r.basis_usd == pytest.approx(0.0)  # offline quotes: mark = index throughout
    assert stats["btc-bybit"].avg_24h == pytest.approx(0.0001)
    assert stats["ada-binance"].avg_24h is None  # no rate was recorded for it
    assert stats["btc-bybit"].covered_7d_ms < DAY_MS  # five minutes of history, said so


def test_history_review_command(recorded, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    path = recorded[0]
    assert main(["history", "--db", str(path), "--since", "all", "--review"]) == 0
    out = capsys.readouterr().out
    assert "variance cut" in out
    assert "slippage against mark" in out
    assert "USD" in out
    assert main(["history", "--db", str(path), "--since", "all", "--review", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["fills"] == 1
    assert data["variance_cut_pct"] > 50
    assert "cost_usd" in data
    assert main(["history", "--db", str(path), "--review", "--csv"]) == 2
    assert "--review prints a summary" in capsys.readouterr().err
