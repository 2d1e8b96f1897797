"""Contract specifications of coin-margined inverse perpetuals (types and built-in table).

OWNED BY THE FOUNDATION WORK (issue 2): the table below is a placeholder to be completed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class QtyUnit(StrEnum):
    """How a venue expresses order and position size."""

    USD = "usd"  # Bybit inverse, Deribit: size is USD face value
    CONTRACTS = "contracts"  # Binance COIN-M, OKX: size is a count of contracts


@dataclass(frozen=True, slots=True)
class MarginTier:
    """One maintenance-margin tier. ``max_notional_coin`` is the tier's upper bound of the
    position value in the settlement coin (inf for the last tier)."""

    max_notional_coin: float
    mmr: float
    mm_amount_coin: float = 0.0
    max_leverage: float = 100.0


@dataclass(frozen=True, slots=True)
class ContractSpec:
    venue: str
    symbol: str  # venue-native: BTCUSD, BTCUSD_PERP, BTC-USD-SWAP, BTC-PERPETUAL
    coin: str  # settlement (and underlying) coin: BTC, SOL, ...
    face_value_usd: float  # USD face value of one contract
    tick_size: float
    lot_contracts: int  # order size step, in contracts
    qty_unit: QtyUnit
    funding_interval_ms: int | None  # None: continuous funding (Deribit)
    tiers: tuple[MarginTier, ...] = field(default=())
    source: str = ""
