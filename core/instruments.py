"""Contract specifications of coin-margined inverse perpetuals (types and built-in table).

Everything above this module speaks USD face value (``size_usd``, Q); the venues do not
(Bybit inverse and Deribit count USD, Binance COIN-M and OKX count contracts).
``size_usd_from_venue_qty`` / ``venue_qty_from_size_usd`` are the one place that converts.

The built-in table is the offline fallback (a later issue refreshes it through ccxt); each row
names its source.
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


class UnknownInstrument(ValueError):  # noqa: N818 (name fixed by the team contract)
    """A (venue, symbol) pair that is not in the table; the message names both."""


VENUES: tuple[str, ...] = ("bybit", "binance", "okx", "deribit")
_H8 = 8 * 3600 * 1000


def _spec(
    venue: str,
    coin: str,
    face: float,
    tick: float,
    *,
    lot: int = 1,
    tiers: tuple[MarginTier, ...] = (),
    source: str = "",
) -> ContractSpec:
    unit = QtyUnit.USD if venue in ("bybit", "deribit") else QtyUnit.CONTRACTS
    return ContractSpec(
        venue=venue,
        symbol=native_symbol(venue, coin),
        coin=coin,
        face_value_usd=face,
        tick_size=tick,
        lot_contracts=lot,
        qty_unit=unit,
        funding_interval_ms=None if venue == "deribit" else _H8,
        tiers=tiers,
        source=source,
    )


def native_symbol(venue: str, coin: str) -> str:
    """The venue-native perpetual name of ``coin``: Bybit ``BTCUSD``, Binance ``BTCUSD_PERP``,
    OKX ``BTC-USD-SWAP``, Deribit ``BTC-PERPETUAL``."""
    v = _venue(venue)
    c = coin.upper()
    if v == "bybit":
        return f"{c}USD"
    if v == "binance":
        return f"{c}USD_PERP"
    if v == "okx":
        return f"{c}-USD-SWAP"
    return f"{c}-PERPETUAL"


def _venue(venue: str) -> str:
    v = venue.strip().lower()
    if v not in VENUES:
        raise UnknownInstrument(f"unknown venue {venue!r} (known: {', '.join(VENUES)})")
    return v


def parse_coin(symbol: str) -> str:
    """The coin of a perpetual symbol in any accepted spelling: generic ``BTCUSD``, Binance
    ``BTCUSD_PERP``, OKX ``BTC-USD-SWAP``, Deribit ``BTC-PERPETUAL``, ccxt ``BTC/USD:BTC``,
    or the bare coin ``BTC``. Raises UnknownInstrument for anything else."""
    s = symbol.strip().upper()
    coin = ""
    if "/" in s:  # ccxt unified: BTC/USD:BTC
        base, _, rest = s.partition("/")
        if rest.split(":")[0] == "USD":
            coin = base
    elif s.endswith("-USD-SWAP"):
        coin = s.removesuffix("-USD-SWAP")
    elif s.endswith("-PERPETUAL"):
        coin = s.removesuffix("-PERPETUAL")
    elif s.endswith("USD_PERP"):
        coin = s.removesuffix("USD_PERP")
    elif s.endswith("USD"):
        coin = s.removesuffix("USD")
    elif s.isalnum():
        coin = s
    if not coin or not coin.isalnum():
        raise UnknownInstrument(f"cannot read a coin from symbol {symbol!r}")
    return coin


def lookup(venue: str, symbol: str) -> ContractSpec:
    """The built-in spec of ``symbol`` (generic or venue-native) on ``venue``."""
    v = _venue(venue)
    coin = parse_coin(symbol)
    spec = _BY_KEY.get((v, coin))
    if spec is None:
        known = ", ".join(s.symbol for s in BUILTIN_SPECS if s.venue == v)
        raise UnknownInstrument(f"unknown symbol {symbol!r} on {v} (known: {known})")
    return spec


def size_usd_from_contracts(spec: ContractSpec, contracts: int) -> float:
    """USD face value of ``contracts`` contracts: ``contracts · face``."""
    return contracts * spec.face_value_usd


def contracts_from_size_usd(spec: ContractSpec, size_usd: float) -> int:
    """Whole contracts for ``size_usd`` face value, rounded to the nearest lot."""
    lots = round(size_usd / spec.face_value_usd / spec.lot_contracts)
    return int(lots) * spec.lot_contracts


def size_usd_from_venue_qty(spec: ContractSpec, qty: float) -> float:
    """USD face value of a quantity as the venue expresses it (Bybit/Deribit: USD;
    Binance/OKX: contracts). The one place that knows the venue's unit."""
    if spec.qty_unit is QtyUnit.USD:
        return float(qty)
    return float(qty) * spec.face_value_usd


def venue_qty_from_size_usd(spec: ContractSpec, size_usd: float) -> float:
    """The quantity to send to the venue for ``size_usd`` face value, rounded to the lot
    (Bybit/Deribit: USD, a multiple of face·lot; Binance/OKX: a count of contracts)."""
    contracts = contracts_from_size_usd(spec, size_usd)
    if spec.qty_unit is QtyUnit.USD:
        return contracts * spec.face_value_usd
    return float(contracts)


def round_price(spec: ContractSpec, price: float) -> float:
    """``price`` rounded to the nearest tick."""
    ticks = round(price / spec.tick_size)
    return float(f"{ticks * spec.tick_size:.12g}")


# --- built-in table -------------------------------------------------------------------------

_BYBIT_SRC = "Bybit v5 instruments-info category=inverse (1 USD per contract, qty in USD)"
_BINANCE_SRC = "Binance dapi/v1/exchangeInfo (fixtures/rest/binance-coinm-exchangeinfo.json)"
_OKX_SRC = "OKX api/v5/public/instruments?instType=SWAP (fixtures/rest/okx-instruments-swap.json)"
_DERIBIT_SRC = "Deribit public/get_instruments (fixtures/rest/deribit-get-instruments-*.json)"

BUILTIN_SPECS: tuple[ContractSpec, ...] = (
    _spec("bybit", "BTC", 1.0, 0.5, source=_BYBIT_SRC),
    _spec("bybit", "ETH", 1.0, 0.05, source=_BYBIT_SRC),
    _spec("bybit", "SOL", 1.0, 0.01, source=_BYBIT_SRC),
    _spec("bybit", "ADA", 1.0, 0.0001, source=_BYBIT_SRC),
    _spec("bybit", "XRP", 1.0, 0.0001, source=_BYBIT_SRC),
    _spec("bybit", "DOT", 1.0, 0.001, source=_BYBIT_SRC),
    _spec("bybit", "LTC", 1.0, 0.01, source=_BYBIT_SRC),
    _spec("bybit", "EOS", 1.0, 0.001, source=_BYBIT_SRC),
    _spec("binance", "BTC", 100.0, 0.1, source=_BINANCE_SRC),
    _spec("binance", "ETH", 10.0, 0.01, source=_BINANCE_SRC),
    _spec("binance", "SOL", 10.0, 0.01, source="Binance COIN-M SOLUSD_PERP contract specs"),
    _spec("binance", "ADA", 10.0, 0.00001, source=_BINANCE_SRC),
    _spec("binance", "XRP", 10.0, 0.0001, source=_BINANCE_SRC),
    _spec("binance", "DOT", 10.0, 0.001, source=_BINANCE_SRC),
    _spec("binance", "LINK", 10.0, 0.001, source=_BINANCE_SRC),
    _spec("binance", "LTC", 10.0, 0.01, source=_BINANCE_SRC),
    _spec("binance", "BNB", 10.0, 0.001, source=_BINANCE_SRC),
    _spec("binance", "DOGE", 10.0, 0.000001, source=_BINANCE_SRC),
    _spec("okx", "BTC", 100.0, 0.1, source=_OKX_SRC),
    _spec("okx", "ETH", 10.0, 0.01, source=_OKX_SRC),
    _spec("okx", "SOL", 10.0, 0.001, source=_OKX_SRC),
    _spec("okx", "ADA", 10.0, 0.00001, source=_OKX_SRC),
    _spec("okx", "XRP", 10.0, 0.00001, source=_OKX_SRC),
    _spec("okx", "DOT", 10.0, 0.001, source=_OKX_SRC),
    _spec("okx", "LINK", 10.0, 0.001, source=_OKX_SRC),
    _spec("okx", "LTC", 10.0, 0.01, source=_OKX_SRC),
    _spec("okx", "DOGE", 10.0, 0.000001, source=_OKX_SRC),
    _spec("deribit", "BTC", 10.0, 0.5, source=_DERIBIT_SRC),
    _spec("deribit", "ETH", 1.0, 0.05, source=_DERIBIT_SRC),
)

_BY_KEY: dict[tuple[str, str], ContractSpec] = {(s.venue, s.coin): s for s in BUILTIN_SPECS}
