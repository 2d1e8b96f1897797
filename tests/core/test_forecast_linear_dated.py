"""Funding forecast, the linear twin and dated futures.

- Forecast identity: at a constant rate r, d days hold n = d·24h/interval payments and the
  forecast is n·r·Q/P coin (DESIGN.md §5: one payment is Q/P·rate coin, longs pay shorts).
- Linear: Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M Futures Contracts",
  https://www.binance.com/en/support/faq/b3c689c1f50a44cabb3a84e663b81d93 — at the
  liquidation price the equity WB + N·(EP − LP) equals the maintenance margin N·LP·MMR − cum;
  the page's tier example: a 500,000 USDT BTCUSDT position has a maintenance amount of
  1,300 USDT (used as cum below).
- Dated: Binance quarterlies settle at 08:00 UTC on the date in the symbol; Bybit inverse
  futures on the last Friday of the month (27 March 2026 is a Friday).
"""

from __future__ import annotations

import dataclasses

import pytest

from core import linear
from core.config import AlertConfig
from core.dated import compare_with_perp, dated_basis, days_left, expiry_ms
from core.demo import demo_config, start_prices
from core.forecast import (
    DAY_MS,
    H8_MS,
    RateBasis,
    hedge_forecast,
    rate_stats,
    total_usd,
)
from core.instruments import lookup
from core.offline import snapshot_at_prices

NOW = 1_767_225_600_000  # 2026-01-01 00:00 UTC


def _snap(rate: float = 0.0001):  # type: ignore[no-untyped-def]
    p = start_prices()
    return snapshot_at_prices(demo_config(), p, NOW, funding_rates={c: rate for c in p})


def test_forecast_at_a_constant_rate_is_rate_times_payments() -> None:
    rate = 0.0001
    snap = _snap(rate)
    for h in snap.hedges:
        assert h.mark is not None
        stats = rate_stats([(NOW - k * H8_MS, rate) for k in range(21)], NOW)
        f = hedge_forecast(h, stats)
        assert f.next_coin == pytest.approx(h.size_usd / h.mark * rate)
        for basis in (RateBasis.CURRENT, RateBasis.AVG_24H, RateBasis.AVG_7D):
            for days in (7, 30):
                p = f.projection(basis, days)
                assert p is not None
                payments = days * DAY_MS / H8_MS
                assert p.payments == payments
                assert p.coin == pytest.approx(payments * rate * h.size_usd / h.mark, rel=1e-12)
                assert p.usd == pytest.approx(payments * rate * h.size_usd, rel=1e-12)
    forecasts = [hedge_forecast(h) for h in snap.hedges]
    total = total_usd(forecasts, RateBasis.CURRENT, 30)
    assert total == pytest.approx(sum(h.size_usd for h in snap.hedges) * rate * 90, rel=1e-12)
    # no history: the averages are unknown, not zero
    assert total_usd(forecasts, RateBasis.AVG_7D, 30) is None


def test_rate_stats_windows_and_range() -> None:
    samples = [(NOW - 3 * DAY_MS, 0.0003), (NOW - 2 * H8_MS, -0.0001), (NOW - H8_MS, 0.0002)]
    s = rate_stats([*samples, (NOW - 1000, None), (NOW + 1000, 0.9)], NOW)
    assert s.avg_24h == pytest.approx(0.00005)
    assert s.avg_7d == pytest.approx(0.0004 / 3)
    assert (s.low, s.high, s.samples) == (-0.0001, 0.0003, 3)
    assert s.covered_24h_ms == H8_MS
    assert rate_stats([], NOW).avg_24h is None


def test_linear_liquidation_meets_the_maintenance_margin() -> None:
    n, ep, wb, mmr, cum = 5.0, 100_000.0, 100_000.0, 0.01, 1_300.0
    lp = linear.linear_liq_price("short", n, ep, wb, mmr, cum)
    assert lp is not None
    equity = wb + linear.linear_pnl_usd("short", n, ep, lp)
    assert equity == pytest.approx(linear.linear_maintenance_usdt(n, lp, mmr, cum), rel=1e-12)
    lpl = linear.linear_liq_price("long", n, ep, wb, mmr, cum)
    assert lpl is not None
    equity = wb + linear.linear_pnl_usd("long", n, ep, lpl)
    assert equity == pytest.approx(linear.linear_maintenance_usdt(n, lpl, mmr, cum), rel=1e-12)


def test_inverse_1x_cannot_be_liquidated_the_linear_1x_can() -> None:
    spec = lookup("binance", "BTCUSD_PERP")
    c = linear.compare(spec, "short", 100_000.0, 50_000.0, 2.0, 50_000.0, day_open=49_000.0)
    assert c.inverse_liq_price is None
    assert c.qty_coin == 2.0
    assert c.margin_usdt == 100_000.0
    assert c.stablecoin_needed_usdt == 100_000.0
    assert c.liq_price == pytest.approx(2 * 50_000.0 / 1.005)
    assert c.today_pnl_usd == pytest.approx(2.0 * (49_000.0 - 50_000.0))
    by_move = {m.move_pct: m for m in c.at_moves}
    # the inverse margin loses USD value as the coin falls, the linear margin does not
    assert by_move[-50.0].inverse_margin_usd == pytest.approx(50_000.0)
    assert by_move[-50.0].linear_margin_usd == 100_000.0
    # at 1x both wallets are worth the hedged USD while neither is liquidated
    assert by_move[-50.0].inverse_equity_usd == pytest.approx(100_000.0)
    assert by_move[-50.0].linear_equity_usd == pytest.approx(150_000.0)
    assert by_move[100.0].linear_liquidated
    assert not by_move[200.0].inverse_liquidated
    assert by_move[200.0].inverse_equity_usd == pytest.approx(100_000.0)
    keys = c.as_json()
    assert all(k.startswith("linear_") for k in keys)


def test_expiry_from_each_venues_name() -> None:
    mar27 = 1_774_598_400_000  # 2026-03-27 08:00 UTC
    assert expiry_ms("BTCUSD_260327") == mar27
    assert expiry_ms("BTC-USD-260327") == mar27
    assert expiry_ms("BTC-27MAR26") == mar27
    assert expiry_ms("BTCUSDH26") == mar27  # last Friday of March 2026
    assert expiry_ms("BTCUSD_PERP") is None
    assert expiry_ms("BTC-PERPETUAL") is None
    assert expiry_ms("BTCUSD_261399") is None
    assert days_left(mar27, NOW) == pytest.approx((mar27 - NOW) / DAY_MS)
    assert days_left(mar27, mar27 + 1) == 0.0


def test_basis_locked_against_the_perp_and_the_roll() -> None:
    q, index, fut = 100_000.0, 100_000.0, 101_000.0
    d = dated_basis("BTCUSD_260327", fut, index, q, NOW)
    assert d is not None
    assert d.basis_pct == pytest.approx(1.0)
    assert d.annual_pct == pytest.approx(1.0 * 365 / d.days_left)
    assert d.locked_usd == pytest.approx(q * (1 - index / fut))
    nxt = dated_basis("BTCUSD_260626", 102_500.0, index, q, NOW)
    vs = compare_with_perp(d, size_usd=q, perp_rate=0.0001, interval_ms=H8_MS, next_contract=nxt)
    payments = d.days_left * 3
    assert vs.perp_funding_usd == pytest.approx(q * 0.0001 * payments)
    assert vs.advantage_usd == pytest.approx(d.locked_usd - q * 0.0001 * payments)
    # the roll date is the roll alert's: [alerts] roll_days before expiry (default 7 d)
    assert (
        vs.roll_ms
        == d.expiry_ms - int(AlertConfig().roll_days * DAY_MS)
        == d.expiry_ms - 7 * DAY_MS
    )
    assert vs.next_contract is not None
    assert vs.next_contract.days_left > d.days_left
    assert dataclasses.asdict(vs)["perp_apr_pct"] == pytest.approx(0.0001 * 3 * 365 * 100)
    assert dated_basis("BTCUSD_PERP", fut, index, q, NOW) is None
