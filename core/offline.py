"""A portfolio snapshot at prices the user gives (``hedgetop stress --price SOL=140``), with no
feed: each coin's price becomes the mark and index of its contracts and its spot quote, so the
engine computes the snapshot exactly as it does live. A coin without a price stays unknown
("—"), never zero."""

from __future__ import annotations

from collections.abc import Mapping

from core.config import Config
from core.engine import Engine, spot_symbol
from core.events import Kind, Quote
from core.ledger import Ledger, MemoryLedger
from core.snapshot import PortfolioSnapshot


def engine_at_prices(
    config: Config,
    prices: Mapping[str, float],
    now_ms: int,
    *,
    ledger: Ledger | None = None,
    funding_rates: Mapping[str, float] | None = None,
) -> Engine:
    """An engine fed one quote per instrument at ``prices`` (coin -> USD);
    ``funding_rates`` (coin -> rate per interval) where known."""
    engine = Engine(config, None, ledger or MemoryLedger(), now_ms)
    rates = funding_rates or {}
    for h in config.hedges:
        price = prices.get(h.coin)
        if price is None:
            continue
        engine.on_quote(
            Quote(
                venue=h.venue,
                symbol=h.symbol,
                kind=Kind.INVERSE_PERP,
                mark=price,
                index=price,
                last=price,
                funding_rate=rates.get(h.coin),
                exchange_ms=now_ms,
                received_ms=now_ms,
            )
        )
    if engine.spot_venue is not None:
        for coin in config.coins():
            price = prices.get(coin)
            if price is None:
                continue
            engine.on_quote(
                Quote(
                    venue=engine.spot_venue,
                    symbol=spot_symbol(engine.spot_venue, coin),
                    kind=Kind.SPOT,
                    last=price,
                    bid=price,
                    ask=price,
                    exchange_ms=now_ms,
                    received_ms=now_ms,
                )
            )
    return engine


def snapshot_at_prices(
    config: Config,
    prices: Mapping[str, float],
    now_ms: int,
    *,
    ledger: Ledger | None = None,
    funding_rates: Mapping[str, float] | None = None,
) -> PortfolioSnapshot:
    """The snapshot of ``config`` (plus the ledger's fills and funding) at ``prices``."""
    engine = engine_at_prices(config, prices, now_ms, ledger=ledger, funding_rates=funding_rates)
    return engine.snapshot(now_ms)
