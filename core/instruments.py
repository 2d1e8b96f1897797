"""Contract specifications of coin-margined inverse perpetuals (types and built-in table).

Everything above this module speaks USD face value (``size_usd``, Q); the venues do not
(Bybit inverse and Deribit count USD, Binance COIN-M and OKX count contracts).
``size_usd_from_venue_qty`` / ``venue_qty_from_size_usd`` are the one place that converts.

The built-in table is the offline fallback (a later issue refreshes it through ccxt); each row
names its source.
"""

from __future__ import annotations

import math
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
    # Added by the foundation work (defaults keep the original constructor valid):
    mmr_per_coin: float = 0.0  # Deribit: maintenance rate grows by this per coin of position
    liq_fee_rate: float = 0.0  # fee rate the venue adds to the maintenance rate (OKX: taker)


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
    mmr_per_coin: float = 0.0,
    liq_fee_rate: float = 0.0,
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
        mmr_per_coin=mmr_per_coin,
        liq_fee_rate=liq_fee_rate,
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
    if "USDT" in s or "USDC" in s:
        raise UnknownInstrument(
            f"{symbol!r} is a stablecoin-margined (linear) or spot symbol, not a coin-margined"
            " inverse perpetual (try BTCUSD)"
        )
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


def with_maintenance_amounts(tiers: tuple[MarginTier, ...]) -> tuple[MarginTier, ...]:
    """Fill each tier's maintenance amount the way Binance defines it, which makes the
    maintenance margin continuous across brackets:

        cum_n = floor_n · (mmr_n − mmr_{n−1}) + cum_{n−1}    (floor_n: bracket n's lower bound)
    """
    out: list[MarginTier] = []
    cum, prev_rate, floor = 0.0, 0.0, 0.0
    for i, tier in enumerate(tiers):
        if i:
            cum += floor * (tier.mmr - prev_rate)
        out.append(MarginTier(tier.max_notional_coin, tier.mmr, cum, tier.max_leverage))
        prev_rate, floor = tier.mmr, tier.max_notional_coin
    return tuple(out)


def _brackets(rows: tuple[tuple[float, float, float], ...]) -> tuple[MarginTier, ...]:
    """(upper bound in coin, maintenance rate, max leverage) rows -> tiers with amounts."""
    return with_maintenance_amounts(tuple(MarginTier(b, r, 0.0, lev) for b, r, lev in rows))


_INF = math.inf

# Binance COIN-M BTCUSD perpetual leverage brackets, notional in BTC (Binance FAQ "Leverage and
# Margin in Coin-Margined Futures Contracts" and "How to Calculate Liquidation Price of COIN-M
# Futures Contracts": 300 BTC -> 12.5 %, maintenance amount 11.605 BTC). Amounts follow the
# FAQ's formula (with_maintenance_amounts).
BINANCE_BTC_TIERS = _brackets(
    (
        (5, 0.004, 125),
        (10, 0.005, 100),
        (20, 0.01, 50),
        (50, 0.025, 20),
        (100, 0.05, 10),
        (200, 0.10, 5),
        (400, 0.125, 4),
        (1000, 0.15, 3),
        (1500, 0.25, 2),
        (_INF, 0.50, 1),
    )
)
# ETHUSD: bracket bounds and leverages from the same FAQ page (notional in ETH); the page we
# could read lists initial rates only, so maintenance rates are set at half the initial rate,
# the ratio of the BTC table. Approximate: refresh through ccxt for exact figures.
BINANCE_ETH_TIERS = _brackets(
    (
        (100, 0.005, 100),
        (500, 0.0065, 75),
        (1000, 0.01, 50),
        (2000, 0.025, 20),
        (4000, 0.05, 10),
        (6000, 0.10, 5),
        (8000, 0.125, 4),
        (10000, 0.15, 3),
        (_INF, 0.25, 2),
    )
)
# Other COIN-M perpetuals: the same FAQ lists them under "20x COIN-M Futures Contracts" (ADA,
# LINK, BNB, DOT, TRX, EOS, LTC, BCH, XRP, ...); first bracket only, maintenance at half the
# 5 % initial rate. Approximate and on the safe side (a higher rate liquidates earlier).
_ALT_TIERS = (MarginTier(_INF, 0.025, 0.0, 20),)

# Bybit "Risk Limit (Inverse Contract)": maintenance base rate 0.5 % for BTC, 1 % for the
# others. Higher risk-limit levels are chosen by the user; the offline table holds the base.
_BYBIT_BTC = (MarginTier(_INF, 0.005, 0.0, 100),)
_BYBIT_ALT = (MarginTier(_INF, 0.01, 0.0, 50),)

# OKX: tier-1 maintenance rate approximated as half the tier-1 initial rate 1/lever (fixture
# `lever`: 125 for BTC and ETH, 75 for the others); the liquidation test adds the taker fee
# (0.05 %, OKX fee schedule, regular users) to the rate (OKX help, isolated margin ratio).
_OKX_125 = (MarginTier(_INF, 0.004, 0.0, 125),)
_OKX_75 = (MarginTier(_INF, round(0.5 / 75, 6), 0.0, 75),)
_OKX_FEE = 0.0005

# Deribit (support article "11 January 2022"): maintenance margin BTC 1 % + 0.005 % per BTC of
# position, ETH 1 % + 0.0004 % per ETH.
_DERIBIT_BASE = (MarginTier(_INF, 0.01, 0.0, 50),)

_BYBIT_SRC = "Bybit v5 instruments-info category=inverse (1 USD per contract; alt ticks approx.)"
_BINANCE_SRC = "Binance dapi/v1/exchangeInfo (fixtures/rest/binance-coinm-exchangeinfo.json)"
_OKX_SRC = "OKX api/v5/public/instruments?instType=SWAP (fixtures/rest/okx-instruments-swap.json)"
_DERIBIT_SRC = "Deribit public/get_instruments (fixtures/rest/deribit-get-instruments-*.json)"


def _bybit(coin: str, tick: float) -> ContractSpec:
    tiers = _BYBIT_BTC if coin == "BTC" else _BYBIT_ALT
    return _spec("bybit", coin, 1.0, tick, tiers=tiers, source=_BYBIT_SRC)


def _binance(coin: str, face: float, tick: float, source: str = _BINANCE_SRC) -> ContractSpec:
    tiers = {"BTC": BINANCE_BTC_TIERS, "ETH": BINANCE_ETH_TIERS}.get(coin, _ALT_TIERS)
    return _spec("binance", coin, face, tick, tiers=tiers, source=source)


def _okx(coin: str, face: float, tick: float) -> ContractSpec:
    tiers = _OKX_125 if coin in ("BTC", "ETH") else _OKX_75
    return _spec("okx", coin, face, tick, tiers=tiers, source=_OKX_SRC, liq_fee_rate=_OKX_FEE)


BUILTIN_SPECS: tuple[ContractSpec, ...] = (
    # Bybit inverse perpetuals: 1 USD per contract, qty in USD, qtyStep 1. No recorded
    # category=inverse response exists (fixtures README): BTCUSD's tick 0.5 is the one in
    # Bybit's v5 instruments-info examples; the other ticks are approximate until the ccxt
    # refresh (core.markets) replaces them.
    _bybit("BTC", 0.5),
    _bybit("ETH", 0.05),
    _bybit("SOL", 0.01),
    _bybit("ADA", 0.0001),
    _bybit("XRP", 0.0001),
    _bybit("DOT", 0.001),
    _bybit("LTC", 0.01),
    _bybit("EOS", 0.001),
    # Binance COIN-M perpetuals: contractSize and PRICE_FILTER from the exchangeInfo fixture.
    _binance("BTC", 100.0, 0.1),
    _binance("ETH", 10.0, 0.01),
    _binance("SOL", 10.0, 0.01, "Binance COIN-M SOLUSD_PERP (listed after the 2021 fixture)"),
    _binance("ADA", 10.0, 0.00001),
    _binance("XRP", 10.0, 0.0001),
    _binance("DOT", 10.0, 0.001),
    _binance("LINK", 10.0, 0.001),
    _binance("LTC", 10.0, 0.01),
    _binance("BNB", 10.0, 0.001),
    _binance("DOGE", 10.0, 0.000001),
    # OKX coin-margined swaps: ctVal (USD), tickSz and lotSz from the instruments fixture.
    _okx("BTC", 100.0, 0.1),
    _okx("ETH", 10.0, 0.01),
    _okx("SOL", 10.0, 0.001),
    _okx("ADA", 10.0, 0.00001),
    _okx("XRP", 10.0, 0.00001),
    _okx("DOT", 10.0, 0.001),
    _okx("LINK", 10.0, 0.001),
    _okx("LTC", 10.0, 0.01),
    _okx("DOGE", 10.0, 0.000001),
    # Deribit perpetuals: contract_size (USD), tick_size, min_trade_amount from the fixtures.
    _spec(
        "deribit",
        "BTC",
        10.0,
        0.5,
        tiers=_DERIBIT_BASE,
        mmr_per_coin=0.00005,
        source=_DERIBIT_SRC,
    ),
    _spec(
        "deribit",
        "ETH",
        1.0,
        0.05,
        tiers=_DERIBIT_BASE,
        mmr_per_coin=0.000004,
        source=_DERIBIT_SRC,
    ),
)

# Maintenance tiers for a spec that carries none (a coin the built-in table lacks, refreshed
# from ccxt): the venue's base rate for an alt coin.
VENUE_DEFAULT_TIERS: dict[str, tuple[MarginTier, ...]] = {
    "bybit": _BYBIT_ALT,
    "binance": _ALT_TIERS,
    "okx": _OKX_75,
    "deribit": _DERIBIT_BASE,
}

_BY_KEY: dict[tuple[str, str], ContractSpec] = {(s.venue, s.coin): s for s in BUILTIN_SPECS}
