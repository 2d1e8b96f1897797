"""Build snapshots and events from core types for storage tests (deterministic, seeded)."""

from __future__ import annotations

import math
import random
from collections.abc import Iterator

from core.events import AlertEvent, AlertState, Fill, FundingEvent, OrderSide
from core.snapshot import HedgeSnapshot, HoldingSnapshot, PortfolioSnapshot

T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z
COINS = ("BTC", "ETH", "SOL", "XRP", "DOGE", "ADA", "DOT", "LTC", "LINK", "AVAX")


def hedge(
    hedge_id: str = "bybit-btc",
    *,
    coin: str = "BTC",
    mark: float | None = 100_000.0,
    index: float | None = 99_950.0,
    contracts: int = 1000,
    entry: float | None = 95_000.0,
    stale: bool = False,
    liq_distance_pct: float | None = None,
    funding_accrued_coin: float = 0.0,
) -> HedgeSnapshot:
    size = contracts * 1.0
    pnl_coin = None if mark is None or entry is None else size * (1 / mark - 1 / entry)
    basis = None if mark is None or index is None else (mark - index) / index * 100
    return HedgeSnapshot(
        hedge_id=hedge_id,
        venue=hedge_id.split("-", maxsplit=1)[0],
        symbol=f"{coin}USD",
        coin=coin,
        hedged_coin=coin,
        beta=1.0,
        side="short",
        contracts=contracts,
        size_usd=size,
        entry=entry,
        margin_coin=0.01,
        margin_mode="isolated",
        leverage=None,
        mark=mark,
        index=index,
        last=mark,
        position_value_coin=None if mark is None else size / mark,
        pnl_coin=pnl_coin,
        pnl_usd=None if pnl_coin is None or mark is None else pnl_coin * mark,
        realized_pnl_coin=0.0,
        equity_coin=None if pnl_coin is None else 0.01 + pnl_coin,
        maintenance_margin_coin=None,
        liq_price=None if liq_distance_pct is None or mark is None else mark * 1.5,
        liq_distance_pct=liq_distance_pct,
        basis_usd=None if mark is None or index is None else mark - index,
        basis_pct=basis,
        basis_annual_pct=None,
        funding_rate=0.0001,
        funding_interval_ms=8 * 3_600_000,
        next_funding_ms=None,
        funding_countdown_ms=None,
        funding_apr_pct=10.95,
        funding_next_coin=None,
        funding_accrued_coin=funding_accrued_coin,
        funding_accrued_usd=None if mark is None else funding_accrued_coin * mark,
        stale=stale,
    )


def holding(
    coin: str = "BTC", *, price: float | None = 100_000.0, amount: float = 1.0
) -> HoldingSnapshot:
    value = None if price is None else amount * price
    return HoldingSnapshot(
        coin=coin,
        label="wallet",
        amount_coin=amount,
        price_usd=price,
        spot_value_usd=value,
        hedge_ids=(f"bybit-{coin.lower()}",),
        margin_coin=0.01,
        net_delta_coin=0.1,
        net_delta_usd=None if price is None else 0.1 * price,
        hedge_ratio=0.9,
        target_ratio=1.0,
        drift=-0.1,
        band=0.05,
        value_usd=value,
        unhedged_value_usd=value,
        stale=False,
    )


def snapshot(
    ts_ms: int,
    hedges: tuple[HedgeSnapshot, ...] = (),
    holdings: tuple[HoldingSnapshot, ...] = (),
    *,
    session_start_ms: int = T0,
    total: float | None = 1_000.0,
) -> PortfolioSnapshot:
    return PortfolioSnapshot(
        ts_ms=ts_ms,
        session_start_ms=session_start_ms,
        holdings=holdings,
        hedges=hedges,
        total_value_usd=total,
        unhedged_value_usd=None if total is None else total * 1.1,
        net_delta_usd=5.0,
        session_change_usd=0.0,
        unhedged_session_change_usd=0.0,
    )


def market(
    n_coins: int, seconds: int, *, start_ms: int = T0, step_ms: int = 1000, seed: int = 7
) -> Iterator[PortfolioSnapshot]:
    """A random walk for ``n_coins`` hedges+holdings, one snapshot per ``step_ms``; some
    values are missing now and then (``None``) to exercise null handling."""
    rng = random.Random(seed)
    coins = [COINS[i % len(COINS)] + ("" if i < len(COINS) else str(i)) for i in range(n_coins)]
    price = {c: 100.0 * (i + 1) for i, c in enumerate(coins)}
    accrued = dict.fromkeys(coins, 0.0)
    for k in range(seconds):
        ts = start_ms + k * step_ms
        hs = []
        ho = []
        for c in coins:
            price[c] *= math.exp(rng.gauss(0.0, 0.001))
            if k % 97 == 0:
                accrued[c] += 0.0001
            missing = rng.random() < 0.03
            mark = None if missing else price[c]
            hs.append(
                hedge(
                    f"bybit-{c.lower()}",
                    coin=c,
                    mark=mark,
                    index=price[c] * (1 - rng.gauss(0.0, 0.0005)),
                    entry=100.0,
                    stale=rng.random() < 0.05,
                    liq_distance_pct=None if missing else 50 + rng.gauss(0.0, 5.0),
                    funding_accrued_coin=accrued[c],
                )
            )
            ho.append(holding(c, price=price[c], amount=2.0))
        total = sum(price[c] * 2 for c in coins)
        yield snapshot(ts, tuple(hs), tuple(ho), session_start_ms=start_ms, total=total)


def fill(ts_ms: int = T0, *, hedge_id: str = "bybit-btc", contracts: int = 100) -> Fill:
    return Fill(
        ts_ms=ts_ms,
        hedge_id=hedge_id,
        venue="bybit",
        symbol="BTCUSD",
        side=OrderSide.SELL,
        contracts=contracts,
        size_usd=float(contracts),
        price=100_000.0,
        fee_coin=0.0000006,
        realized_pnl_coin=0.0,
        contracts_after=1000 + contracts,
        entry_after=99_000.0,
    )


def funding(ts_ms: int = T0, *, hedge_id: str = "bybit-btc") -> FundingEvent:
    return FundingEvent(
        ts_ms=ts_ms,
        hedge_id=hedge_id,
        venue="bybit",
        symbol="BTCUSD",
        rate=0.0001,
        mark=100_000.0,
        size_usd=1000.0,
        amount_coin=0.000001,
    )


def alert(ts_ms: int = T0, *, state: AlertState = AlertState.RAISED) -> AlertEvent:
    return AlertEvent(
        ts_ms=ts_ms,
        key="liq_distance:bybit:BTCUSD",
        rule="liq_distance",
        subject="bybit-btc",
        state=state,
        message="liquidation distance 4.5 % below 5 %",
        value=4.5,
    )
