"""Contract specifications of coin-margined inverse perpetuals and dated futures (types and
built-in table).

Everything above this module speaks USD face value (``size_usd``, Q); the venues do not
(Bybit inverse and Deribit count USD, Binance COIN-M and OKX count contracts).
``size_usd_from_venue_qty`` / ``venue_qty_from_size_usd`` are the one place that converts.

The built-in table is the offline fallback: ``core.markets`` refreshes specs and margin tiers
through ccxt and caches them. Each row names its source, and each tier table says where its
numbers come from (``TierSource``) and which tiers are estimates (``MarginTier.estimate``):
where no stored copy of a venue's tier page had the numbers, the row says so.

Dated futures (Binance ``BTCUSD_261225``, OKX ``BTC-USD-261225``, Deribit ``BTC-25DEC26``,
Bybit ``BTCUSDZ26``, ccxt ``BTC/USD:BTC-261225``) have no rows of their own: a dated spec is
the venue's perpetual spec for the coin (face value, tick, lot, tiers) with ``kind``
``Kind.INVERSE_FUTURE``, its ``expiry_ms`` (``core.dated.expiry_ms``) and no funding.

Each spec also says what the venue's markets said of the instrument's life (``status``,
``delist_ms``; ``core.markets`` reads them per venue): venues delist inverse perpetuals (Bybit's
WIFUSD in 2026), closing what remains at an average index price. The built-in table does not
know, so its rows say ``InstrumentStatus.UNKNOWN``, never "trading".
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum

from core.dated import expiry_ms as _expiry_of
from core.events import InstrumentStatus, Kind


class QtyUnit(StrEnum):
    """How a venue expresses order and position size."""

    USD = "usd"  # Bybit inverse, Deribit: size is USD face value
    CONTRACTS = "contracts"  # Binance COIN-M, OKX: size is a count of contracts


class TierBasis(StrEnum):
    """What a tier's upper bound (``MarginTier.cap``) measures, per venue.

    Binance COIN-M brackets hold the position's value in coin at the mark (``qtyCap`` is "base
    asset quantity"), so the bracket changes as the price moves; Bybit inverse risk limits
    hold the position value at the entry price (``Q/P0``, fixed while the price moves); OKX
    tiers count contracts (``maxSz``), kept here as USD face value (contracts × face), also
    fixed. Deribit has no tiers: its rate grows with the size in coin at the mark.
    """

    COIN_AT_MARK = "coin_at_mark"
    COIN_AT_ENTRY = "coin_at_entry"
    USD_FACE = "usd_face"


#: The short word a row shows for a status (TRADING and UNKNOWN show none: see status_mark).
STATUS_WORD: dict[InstrumentStatus, str] = {
    InstrumentStatus.REDUCE_ONLY: "reduce-only",
    InstrumentStatus.DELISTING: "delist",
    InstrumentStatus.SETTLING: "settling",
    InstrumentStatus.CLOSED: "closed",
    InstrumentStatus.PRE_LAUNCH: "pre-launch",
    InstrumentStatus.SUSPENDED: "suspended",
}


def status_mark(status: InstrumentStatus, delist_ms: int | None, now_ms: int) -> str:
    """The row's mark for a status: ``""`` while trading (or not known: the detail says
    unknown, the row stays quiet rather than claim anything), else the word, with the days
    left to a delisting date when there is one (``delist 12d``, ``delist <1d``,
    ``reduce-only 3d``)."""
    word = STATUS_WORD.get(status, "")
    if not word:
        return ""
    if delist_ms is None or status in (InstrumentStatus.CLOSED, InstrumentStatus.PRE_LAUNCH):
        return word
    days = (delist_ms - now_ms) / 86_400_000
    if days <= 0:
        return word if status is not InstrumentStatus.DELISTING else "delisted"
    return f"{word} {'<1' if days < 1 else int(days)}d"


class TierOrigin(StrEnum):
    VENUE = "venue"  # asked of the venue (through ccxt) in this session
    CACHE = "cache"  # the on-disk cache of an earlier answer
    BUILTIN = "builtin"  # this module's table


@dataclass(frozen=True, slots=True)
class TierSource:
    """Where a spec's margin tiers come from, for the screen ("venue now", "cache of <date>",
    "built-in") and for the report of ``hedgetop calc``."""

    origin: TierOrigin = TierOrigin.BUILTIN
    fetched_ms: int | None = None  # when the venue answered (venue, cache)
    note: str = ""  # the page the numbers come from, and what is an estimate

    def describe(self) -> str:
        when = ""
        if self.fetched_ms is not None:
            when = datetime.fromtimestamp(self.fetched_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")
        if self.origin is TierOrigin.VENUE:
            return f"venue now ({when} UTC)" if when else "venue now"
        if self.origin is TierOrigin.CACHE:
            return f"cache of {when} UTC" if when else "cache"
        return "built-in"


@dataclass(frozen=True, slots=True)
class MarginTier:
    """One maintenance-margin tier. ``cap`` is the tier's upper bound in the unit of the
    spec's ``tier_basis`` (coin, or USD face value; inf for the last tier);
    ``mm_amount_coin`` the amount taken off ``value·mmr`` (Binance ``cum``, Bybit "MM
    deduction"), which makes the margin continuous across tiers. ``estimate``: the venue's
    page with this tier's numbers was not available; the figures are the table's estimate."""

    cap: float
    mmr: float
    mm_amount_coin: float = 0.0
    max_leverage: float = 100.0
    estimate: bool = False


@dataclass(frozen=True, slots=True)
class ContractSpec:
    venue: str
    symbol: str  # venue-native: BTCUSD, BTCUSD_PERP, BTC-USD-SWAP, BTC-PERPETUAL, BTCUSD_261225
    coin: str  # settlement (and underlying) coin: BTC, SOL, ...
    face_value_usd: float  # USD face value of one contract
    tick_size: float
    lot_contracts: int  # order size step, in contracts
    qty_unit: QtyUnit
    funding_interval_ms: int | None  # None: continuous funding (Deribit), or a dated future
    tiers: tuple[MarginTier, ...] = field(default=())
    source: str = ""
    # Added by the foundation work (defaults keep the original constructor valid):
    mmr_per_coin: float = 0.0  # Deribit: maintenance rate grows by this per coin of position
    taker_fee_rate: float = 0.0  # the venue's taker fee, where its liquidation test counts it
    tier_basis: TierBasis = TierBasis.COIN_AT_MARK
    tier_source: TierSource = field(default_factory=TierSource)
    kind: Kind = Kind.INVERSE_PERP  # or Kind.INVERSE_FUTURE: a dated future, no funding
    expiry_ms: int | None = None  # a dated future's settlement time (08:00 UTC)
    # From the venue's markets (core.markets); the built-in table does not know:
    status: InstrumentStatus = InstrumentStatus.UNKNOWN
    delist_ms: int | None = None  # a perpetual's delisting time, when the venue set one

    @property
    def dated(self) -> bool:
        return self.kind is Kind.INVERSE_FUTURE


class UnknownInstrument(ValueError):  # noqa: N818 (name fixed by the team contract)
    """A (venue, symbol) pair that is not in the table; the message names both."""


class ExpiredInstrument(UnknownInstrument):
    """A dated future whose settlement time has passed; the message names it and when."""


VENUES: tuple[str, ...] = ("bybit", "binance", "okx", "deribit")
_H8 = 8 * 3600 * 1000


#: What each venue's tier bounds measure (see ``TierBasis``).
VENUE_TIER_BASIS: dict[str, TierBasis] = {
    "bybit": TierBasis.COIN_AT_ENTRY,
    "binance": TierBasis.COIN_AT_MARK,
    "okx": TierBasis.USD_FACE,
    "deribit": TierBasis.COIN_AT_MARK,
}


def _spec(
    venue: str,
    coin: str,
    face: float,
    tick: float,
    *,
    lot: int = 1,
    tiers: tuple[MarginTier, ...] = (),
    tier_note: str = "",
    source: str = "",
    mmr_per_coin: float = 0.0,
    taker_fee_rate: float = 0.0,
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
        taker_fee_rate=taker_fee_rate,
        tier_basis=VENUE_TIER_BASIS[venue],
        tier_source=TierSource(TierOrigin.BUILTIN, None, tier_note),
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


# Dated spellings: (coin, the date part). ccxt's unified future is BASE/USD:SETTLE-YYMMDD.
_DATED_FORMS = (
    re.compile(r"^([A-Z0-9]+)/USD:[A-Z0-9]+-(\d{6})$"),  # ccxt
    re.compile(r"^([A-Z0-9]+)USD_(\d{6})$"),  # Binance COIN-M quarterly
    re.compile(r"^([A-Z0-9]+)-USD-(\d{6})$"),  # OKX coin-margined future
    re.compile(r"^([A-Z0-9]+)-(\d{1,2}[A-Z]{3}\d{2})$"),  # Deribit
    re.compile(r"^([A-Z0-9]+)USD([FGHJKMNQUVXZ]\d{2})$"),  # Bybit inverse future
)
_MONTH_ABBR = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_MONTH_CODES = "FGHJKMNQUVXZ"


def parse_symbol(symbol: str) -> tuple[str, int | None]:
    """The coin and, for a dated future, its settlement time (ms) of a symbol in any accepted
    spelling: the perpetuals of ``parse_coin``, and Binance ``BTCUSD_261225``, OKX
    ``BTC-USD-261225``, Deribit ``BTC-25DEC26``, Bybit ``BTCUSDZ26``, ccxt
    ``BTC/USD:BTC-261225``. Raises UnknownInstrument for anything else, or for a date that
    is not one."""
    s = symbol.strip().upper()
    _refuse_linear(symbol, s)
    if s.endswith(("-USD-SWAP", "-PERPETUAL", "USD_PERP")):
        return _perp_coin(symbol, s), None
    for form in _DATED_FORMS:
        m = form.match(s)
        if m is None:
            continue
        exp = _expiry_of(s)
        if exp is None:
            raise UnknownInstrument(
                f"cannot read the expiry of {symbol!r}: {m.group(2)} is not a date"
            )
        return m.group(1), exp
    return _perp_coin(symbol, s), None


def parse_coin(symbol: str) -> str:
    """The coin of a symbol in any accepted spelling (``parse_symbol``): generic ``BTCUSD``,
    Binance ``BTCUSD_PERP``, OKX ``BTC-USD-SWAP``, Deribit ``BTC-PERPETUAL``, ccxt
    ``BTC/USD:BTC``, the bare coin ``BTC``, or a dated future's name. Raises
    UnknownInstrument for anything else."""
    return parse_symbol(symbol)[0]


def _refuse_linear(symbol: str, s: str) -> None:
    if "USDT" in s or "USDC" in s:
        raise UnknownInstrument(
            f"{symbol!r} is a stablecoin-margined (linear) or spot symbol, not a coin-margined"
            " inverse perpetual (try BTCUSD)"
        )


def _perp_coin(symbol: str, s: str) -> str:
    coin = ""
    if "/" in s:  # ccxt unified: BTC/USD:BTC
        base, _, rest = s.partition("/")
        if rest.split(":")[0] == "USD" and "-" not in rest:
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


def _utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def dated_symbol(venue: str, coin: str, expiry: int) -> str:
    """The venue-native name of ``coin``'s future settling at ``expiry``: Binance
    ``BTCUSD_261225``, OKX ``BTC-USD-261225``, Deribit ``BTC-25DEC26``, Bybit ``BTCUSDZ26``
    (Bybit names only the month: its futures settle on the month's last Friday, so another
    day is UnknownInstrument)."""
    v = _venue(venue)
    c = coin.upper()
    d = _utc(expiry)
    if v == "binance":
        return f"{c}USD_{d:%y%m%d}"
    if v == "okx":
        return f"{c}-USD-{d:%y%m%d}"
    if v == "deribit":
        return f"{c}-{d.day}{_MONTH_ABBR[d.month - 1]}{d:%y}"
    name = f"{c}USD{_MONTH_CODES[d.month - 1]}{d:%y}"
    if _expiry_of(name) != expiry:
        raise UnknownInstrument(
            f"bybit has no future of {c} settling on {d:%Y-%m-%d}: its inverse futures "
            f"settle on the last Friday of the month ({name} settles on "
            f"{_utc(_expiry_of(name) or expiry):%Y-%m-%d})"
        )
    return name


def lookup(venue: str, symbol: str, *, now_ms: int | None = None) -> ContractSpec:
    """The built-in spec of ``symbol`` (generic or venue-native) on ``venue``; a dated
    future's is the venue's perpetual spec for the coin with the expiry and no funding.
    Given ``now_ms``, a future settled by then is refused (ExpiredInstrument)."""
    v = _venue(venue)
    try:
        coin, expiry = parse_symbol(symbol)
    except UnknownInstrument as exc:
        if str(exc).startswith("cannot read a coin"):
            raise UnknownInstrument(
                f"cannot read a coin from symbol {symbol!r} (perpetuals: BTCUSD, BTCUSD_PERP,"
                " BTC-USD-SWAP, BTC-PERPETUAL; dated: BTCUSD_261225, BTC-USD-261225,"
                " BTC-25DEC26, BTCUSDZ26)"
            ) from None
        raise
    spec = _BY_KEY.get((v, coin))
    if spec is None:
        known = ", ".join(s.symbol for s in BUILTIN_SPECS if s.venue == v)
        raise UnknownInstrument(f"unknown symbol {symbol!r} on {v} (known: {known})")
    if expiry is None:
        return spec
    try:
        native = dated_symbol(v, coin, expiry)
    except UnknownInstrument as exc:
        raise UnknownInstrument(f"{symbol!r}: {exc}") from None
    if now_ms is not None and now_ms >= expiry:
        raise ExpiredInstrument(
            f"{native} expired on {_utc(expiry):%Y-%m-%d %H:%M} UTC (roll to a later contract)"
        )
    return replace(
        spec,
        symbol=native,
        kind=Kind.INVERSE_FUTURE,
        expiry_ms=expiry,
        funding_interval_ms=None,
        source=f"{spec.source}; dated: the perpetual's contract, expiry from the name",
    )


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
    """Fill each tier's maintenance amount the way Binance (``cum``) and Bybit ("MM
    deduction") both define it, which makes the maintenance margin continuous across tiers:

        amount_n = cap_{n−1} · (mmr_n − mmr_{n−1}) + amount_{n−1}
    """
    out: list[MarginTier] = []
    cum, prev_rate, floor = 0.0, 0.0, 0.0
    for i, tier in enumerate(tiers):
        if i:
            cum += floor * (tier.mmr - prev_rate)
        out.append(MarginTier(tier.cap, tier.mmr, cum, tier.max_leverage, tier.estimate))
        prev_rate, floor = tier.mmr, tier.cap
    return tuple(out)


def _brackets(
    rows: tuple[tuple[float, float, float], ...], *, estimate: bool = False
) -> tuple[MarginTier, ...]:
    """(upper bound, maintenance rate, max leverage) rows -> tiers with amounts."""
    tiers = tuple(MarginTier(b, r, 0.0, lev, estimate) for b, r, lev in rows)
    return with_maintenance_amounts(tiers)


_INF = math.inf

# Binance COIN-M -------------------------------------------------------------------------
# BTCUSD perpetual brackets, notional in BTC at the mark. Bounds and leverages: FAQ "Leverage
# and Margin in Coin-Margined Futures Contracts"; maintenance rates and amounts: FAQ "How to
# Calculate Liquidation Price of COIN-M Futures Contracts" (300 BTC -> 12.5 %, maintenance
# amount 11.605 BTC, which the amounts below reproduce).
_BINANCE_BTC_NOTE = (
    "Binance FAQ https://www.binance.com/en/support/faq/be2c7d9d95b04a7e8044ed02dd7dfe5c "
    "(bounds, leverage) and https://www.binance.com/en/support/faq/"
    "ceccfcfb4e3a45e3b48b0b1bb1a8ae46 (rates; 300 BTC: 12.5 %, amount 11.605 BTC)"
)
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
# ETHUSD: bounds and leverages are on the same FAQ page (notional in ETH), the maintenance
# rates are not (the stored copy lists initial rates only): estimated at half the initial
# rate, the BTC table's ratio.
_BINANCE_ETH_NOTE = (
    "Binance FAQ https://www.binance.com/en/support/faq/be2c7d9d95b04a7e8044ed02dd7dfe5c: "
    "bounds and leverage published; maintenance rates not in the stored copy, estimated at "
    "half the initial rate"
)
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
    ),
    estimate=True,
)
# The other COIN-M perpetuals are "20x COIN-M Futures Contracts" on that page (ADA, LINK, BNB,
# DOT, TRX, EOS, LTC, BCH, XRP, ...): initial 5 % in the first bracket; no maintenance rate or
# bracket bound for them is in the stored copies. Estimated: one bracket at half of 5 %.
_BINANCE_ALT_NOTE = (
    "Binance FAQ https://www.binance.com/en/support/faq/be2c7d9d95b04a7e8044ed02dd7dfe5c: "
    "20x (initial 5 %); maintenance rate and bounds not in the stored copies, estimated at "
    "2.5 % for every size"
)
_BINANCE_ALT_TIERS = (MarginTier(_INF, 0.025, 0.0, 20, estimate=True),)

# Bybit inverse ---------------------------------------------------------------------------
# Risk limits on the position value at entry, in coin. BTCUSD: "Maintenance Margin (Inverse
# Contract)": 0.5 % up to 150 BTC, 1 % at 300 BTC; the v5 risk-limit doc example has tier 1
# (riskLimitValue 150, maintenanceMargin 0.5 %, initialMargin 1 %, maxLeverage 100). Higher
# tiers are not in the stored copies: estimated with the page's own rule ("increase by a fixed
# percentage as the contract value rises to a specific level") at the step tiers 1-2 show,
# +150 BTC and +0.5 % a tier (initial +0.5 %). Deductions by Bybit's formula (the same as
# Binance's amounts).
_BYBIT_BTC_NOTE = (
    "Bybit help 'Maintenance Margin (Inverse Contract)' (https://www.bybit.global/ar-SA/"
    "help-center/search-result?page=45&pageSize=10&query=Bybit: 0.5 % to 150 BTC, 1 % at "
    "300 BTC) and bybit-exchange/docs docs/v5/market/risk-limit.mdx (tier 1); tiers above "
    "300 BTC estimated at +150 BTC / +0.5 % a tier"
)
_BYBIT_BTC = with_maintenance_amounts(
    tuple(
        MarginTier(
            150.0 * n if n < 10 else _INF,
            0.005 * n,
            0.0,
            round(1.0 / (0.01 + 0.005 * (n - 1)), 2),
            estimate=n > 2,
        )
        for n in range(1, 11)
    )
)
# ETHUSD, EOSUSD, XRPUSD: "the maintenance margin base rate is 0.5 % for BTC and 1 % for ETH,
# EOS and XRP" (Risk Limit (Inverse Contract), updated 2025-11-25); the bounds are in a table
# the stored copy cuts off. Other coins: no page in the stored copies; the same 1 %.
_BYBIT_BASE_NOTE = (
    "Bybit help 'Risk Limit (Inverse Contract)' https://www.bybit.com/ar-SA/help-center/"
    "article/Risk-Limit-Inverse-Contract: base rate 1 %; tier bounds not in the stored copy "
    "(larger positions' rates unknown)"
)
_BYBIT_ALT_NOTE = (
    "no Bybit tier page for this coin in the stored copies: estimated at the 1 % base rate "
    "of ETH/EOS/XRP (https://www.bybit.com/ar-SA/help-center/article/Risk-Limit-Inverse-Contract)"
)
_BYBIT_ALT = (MarginTier(_INF, 0.01, 0.0, 50, estimate=True),)
# Taker fee (non-VIP) 0.055 %, "Fee = Order value × Fee rate, Order value = quantity / price"
# (Bybit's trading-fee page, as quoted at http://refeshop.com/fanyong/futuojituan/2015/1112/277.html).
# It enters the cross-margin liquidation test as the fee to close at the bankruptcy price.
_BYBIT_TAKER = 0.00055

# OKX coin-margined swaps ---------------------------------------------------------------------
# No OKX position-tier table is in the stored copies (the tier page is generated by the site,
# GET /api/v5/public/position-tiers serves it): tier 1 estimated at half the tier-1 initial
# rate 1/lever (fixture `lever`: 125 for BTC and ETH, 75 for the others), for every size.
# The liquidation test adds the taker fee (0.05 %, regular users) to the rate: OKX
# "Tiered maintenance margin ratio", liquidation at margin ratio 100 %, equity <= maintenance
# margin + liquidation fees.
_OKX_NOTE = (
    "no OKX tier table in the stored copies: estimated at half of 1/max leverage for every "
    "size (GET /api/v5/public/position-tiers gives the real tiers)"
)
_OKX_125 = (MarginTier(_INF, 0.004, 0.0, 125, estimate=True),)
_OKX_75 = (MarginTier(_INF, round(0.5 / 75, 6), 0.0, 75, estimate=True),)
_OKX_FEE = 0.0005

# Deribit -------------------------------------------------------------------------------------
# Support "11 January 2022": maintenance margin BTC 1 % + 0.005 % per BTC of position,
# ETH 1 % + 0.0004 % per ETH. A formula, not tiers.
_DERIBIT_NOTE = (
    "Deribit support https://support.deribit.com/hc/en-us/articles/25944826427293-11-January-"
    "2022: MM 1 % + 0.005 % per BTC (ETH: + 0.0004 % per ETH)"
)
_DERIBIT_BASE = (MarginTier(_INF, 0.01, 0.0, 50),)

_BYBIT_SRC = "Bybit v5 instruments-info category=inverse (1 USD per contract; alt ticks approx.)"
_BINANCE_SRC = "Binance dapi/v1/exchangeInfo (fixtures/rest/binance-coinm-exchangeinfo.json)"
_OKX_SRC = "OKX api/v5/public/instruments?instType=SWAP (fixtures/rest/okx-instruments-swap.json)"
_DERIBIT_SRC = "Deribit public/get_instruments (fixtures/rest/deribit-get-instruments-*.json)"


def _bybit(coin: str, tick: float) -> ContractSpec:
    if coin == "BTC":
        tiers, note = _BYBIT_BTC, _BYBIT_BTC_NOTE
    else:
        tiers = _BYBIT_ALT
        note = _BYBIT_BASE_NOTE if coin in ("ETH", "EOS", "XRP") else _BYBIT_ALT_NOTE
    return _spec(
        "bybit",
        coin,
        1.0,
        tick,
        tiers=tiers,
        tier_note=note,
        source=_BYBIT_SRC,
        taker_fee_rate=_BYBIT_TAKER,
    )


def _binance(coin: str, face: float, tick: float, source: str = _BINANCE_SRC) -> ContractSpec:
    tiers, note = {
        "BTC": (BINANCE_BTC_TIERS, _BINANCE_BTC_NOTE),
        "ETH": (BINANCE_ETH_TIERS, _BINANCE_ETH_NOTE),
    }.get(coin, (_BINANCE_ALT_TIERS, _BINANCE_ALT_NOTE))
    return _spec("binance", coin, face, tick, tiers=tiers, tier_note=note, source=source)


def _okx(coin: str, face: float, tick: float) -> ContractSpec:
    tiers = _OKX_125 if coin in ("BTC", "ETH") else _OKX_75
    return _spec(
        "okx",
        coin,
        face,
        tick,
        tiers=tiers,
        tier_note=_OKX_NOTE,
        source=_OKX_SRC,
        taker_fee_rate=_OKX_FEE,
    )


def _deribit(coin: str, face: float, tick: float, per_coin: float) -> ContractSpec:
    return _spec(
        "deribit",
        coin,
        face,
        tick,
        tiers=_DERIBIT_BASE,
        tier_note=_DERIBIT_NOTE,
        mmr_per_coin=per_coin,
        source=_DERIBIT_SRC,
    )


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
    _deribit("BTC", 10.0, 0.5, 0.00005),
    _deribit("ETH", 1.0, 0.05, 0.000004),
)

# Maintenance tiers for a spec that carries none (a coin the built-in table lacks, refreshed
# from ccxt): the venue's base rate for an alt coin, marked as an estimate.
VENUE_DEFAULT_TIERS: dict[str, tuple[MarginTier, ...]] = {
    "bybit": _BYBIT_ALT,
    "binance": _BINANCE_ALT_TIERS,
    "okx": _OKX_75,
    "deribit": _DERIBIT_BASE,
}
VENUE_DEFAULT_TIER_NOTES: dict[str, str] = {
    "bybit": _BYBIT_ALT_NOTE,
    "binance": _BINANCE_ALT_NOTE,
    "okx": _OKX_NOTE,
    "deribit": _DERIBIT_NOTE,
}
VENUE_TAKER_FEE: dict[str, float] = {"bybit": _BYBIT_TAKER, "okx": _OKX_FEE}

_BY_KEY: dict[tuple[str, str], ContractSpec] = {(s.venue, s.coin): s for s in BUILTIN_SPECS}
