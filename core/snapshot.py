"""The engine's output: immutable snapshots that the UI, the recorder and alerts read.

Field names carry their unit (``_usd``, ``_coin``, ``_pct`` in percent, ``_ms``); a figure that
cannot be computed (no quote yet, no position, no liquidation) is ``None``. Storage derives its
columns from these fields, so renaming one is a schema change.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.events import AlertEvent, FeedHealth, Fill, InstrumentStatus

#: hedgetop's liquidation price this far (in %) from the exchange's own is flagged (issue 12)
LIQ_GAP_FLAG_PCT = 0.5


@dataclass(frozen=True, slots=True)
class ExchangeFigures:
    """An account read's figures for one hedge, handed to the engine as plain values (the
    domain does not know ``core.accounts``)."""

    liq_price: float | None
    funding_received_coin: float | None
    funding_since_ms: int | None


@dataclass(frozen=True, slots=True)
class HedgeSnapshot:
    """One inverse position (perpetual or dated future) and everything computed from it at
    one instant."""

    hedge_id: str
    venue: str
    symbol: str
    coin: str  # settlement coin of the contract (BTC for a BTC proxy hedge)
    hedged_coin: str  # the holding this hedge protects (SOL for a BTC proxy on SOL)
    beta: float  # 1.0 for a direct hedge
    side: str  # "short" | "long"
    contracts: int
    size_usd: float  # USD face value, Q
    entry: float | None  # harmonic average entry, P0; None when flat
    margin_coin: float  # coins in the futures wallet backing this position (after funding)
    margin_mode: str  # "isolated" | "cross"
    leverage: float | None
    mark: float | None
    index: float | None
    last: float | None
    position_value_coin: float | None  # Q / mark
    pnl_coin: float | None
    pnl_usd: float | None
    realized_pnl_coin: float  # since the position was opened (fills), fees included
    equity_coin: float | None  # margin + unrealised PnL
    maintenance_margin_coin: float | None
    liq_price: float | None  # None: no liquidation possible (or no position)
    liq_distance_pct: float | None  # (liq - mark) / mark * 100; None with liq_price
    basis_usd: float | None  # mark - index
    basis_pct: float | None
    basis_annual_pct: float | None
    funding_rate: float | None  # per interval (Deribit: the 8h-equivalent rate)
    funding_interval_ms: int | None
    next_funding_ms: int | None  # None: continuous funding
    funding_countdown_ms: int | None
    funding_apr_pct: float | None  # rate annualised, signed from this position's view
    funding_next_coin: float | None  # next payment at the current rate; > 0 received
    funding_accrued_coin: float  # settled since opened; > 0 received
    funding_accrued_usd: float | None
    stale: bool
    # The venue's margin model (core.liquidation) and what it says beyond the price:
    bankruptcy_price: float | None = None  # equity (net of the venue's close fee) reaches 0
    margin_model: str | None = None  # core.liquidation.MarginModel value; None: no position
    liq_beyond_10x: bool = False  # liq_price is more than 10x the mark away
    tier_source: str = ""  # where the margin tiers come from: venue now / cache of … / built-in
    tier_estimate: bool = False  # the tier in force is the built-in table's estimate
    # A dated future (None for a perpetual): it pays no funding; a short held to expiry
    # locks its basis, annualised over the days left ((mark/index − 1)·100·365/days).
    expiry_ms: int | None = None
    days_to_expiry: float | None = None  # 0 once expired
    basis_locked_apr_pct: float | None = None  # None without a basis, or at expiry
    # The perpetual of the same venue and coin, the alternative: its rate in force (per
    # interval) and that rate annualised from this position's side (> 0 received).
    perp_funding_rate: float | None = None
    perp_funding_apr_pct: float | None = None
    # What the exchange itself reports for this position (an account read; None: no account,
    # or not read yet): its liquidation price, our figure's gap to it in % of theirs (over
    # LIQ_GAP_FLAG_PCT either the venue knows something, a tier or a fee, or our model is
    # wrong), and the funding it booked since ``funding_received_since_ms`` (> 0 received).
    exchange_liq_price: float | None = None
    liq_gap_pct: float | None = None
    funding_received_coin: float | None = None
    funding_received_since_ms: int | None = None
    # The instrument's life as the venue's markets say (core.markets.market_status): UNKNOWN
    # when no market was read (the built-in table); a perpetual's delisting time if set.
    instrument_status: InstrumentStatus = InstrumentStatus.UNKNOWN
    delist_ms: int | None = None

    @property
    def liq_gap_flagged(self) -> bool:
        return self.liq_gap_pct is not None and abs(self.liq_gap_pct) > LIQ_GAP_FLAG_PCT


@dataclass(frozen=True, slots=True)
class HoldingSnapshot:
    """A spot holding with the hedges that protect it (direct and proxy)."""

    coin: str
    label: str
    amount_coin: float  # spot coins held outside the futures wallet, S
    price_usd: float | None  # spot (or index) price used to value it
    spot_value_usd: float | None
    hedge_ids: tuple[str, ...]
    margin_coin: float  # same-coin futures-wallet coins (exposure too), M
    net_delta_coin: float | None  # S + M - sum(Q/P0) (proxy hedges converted by beta)
    net_delta_usd: float | None
    hedge_ratio: float | None  # hedged coin / (S + M)
    target_ratio: float | None
    drift: float | None  # hedge_ratio - target_ratio
    band: float | None  # allowed |drift|
    value_usd: float | None  # spot + futures wallet equity, in USD
    unhedged_value_usd: float | None  # the same coins without any hedge: (S + M) * price
    stale: bool


@dataclass(frozen=True, slots=True)
class PortfolioSnapshot:
    ts_ms: int
    session_start_ms: int
    holdings: tuple[HoldingSnapshot, ...]
    hedges: tuple[HedgeSnapshot, ...]
    total_value_usd: float | None
    unhedged_value_usd: float | None
    net_delta_usd: float | None
    session_change_usd: float | None  # total value now - at the session's first full snapshot
    unhedged_session_change_usd: float | None
    feeds: tuple[FeedHealth, ...] = ()
    active_alerts: tuple[AlertEvent, ...] = ()
    recent_fills: tuple[Fill, ...] = ()
    stale: bool = False
    extra: dict[str, float] = field(default_factory=dict)

    def hedge(self, hedge_id: str) -> HedgeSnapshot | None:
        return next((h for h in self.hedges if h.hedge_id == hedge_id), None)
