"""Domain events: one frozen type per fact, two timestamps (exchange, received).

Everything that crosses a boundary (feed -> engine, broker -> ledger, engine -> recorder/UI)
is one of these. Missing values are ``None``, never 0: a venue that did not send a field
did not say it was zero.
"""

from __future__ import annotations

from enum import StrEnum

import msgspec


class Venue(StrEnum):
    BYBIT = "bybit"
    BINANCE = "binance"
    OKX = "okx"
    DERIBIT = "deribit"


class Kind(StrEnum):
    """What a quote prices."""

    INVERSE_PERP = "inverse_perp"
    INVERSE_FUTURE = "inverse_future"  # dated, coin-margined (BTCUSDU23, BTC-USD-220527)
    LINEAR = "linear"  # USDT/USDC-margined: shown by the feed commands, never hedged with
    SPOT = "spot"
    INDEX = "index"


class InstrumentStatus(StrEnum):
    """An instrument's life as its venue's markets report it, in one vocabulary.

    ``REDUCE_ONLY``: positions may only be reduced (a delisting announced and running down);
    ``DELISTING``: trading still, but the venue has set a date after which what remains is
    closed (a perpetual with a delivery / expiry time); ``SETTLING``: the venue is closing or
    settling positions now; ``CLOSED``: gone (delivered, delisted); ``PRE_LAUNCH``: listed,
    not trading yet; ``SUSPENDED``: trading halted for now. ``UNKNOWN``: no market said (the
    built-in table, a cache without it, a word no venue documents): never shown as trading.
    """

    TRADING = "trading"
    REDUCE_ONLY = "reduce_only"
    DELISTING = "delisting"
    SETTLING = "settling"
    CLOSED = "closed"
    PRE_LAUNCH = "pre_launch"
    SUSPENDED = "suspended"
    UNKNOWN = "unknown"

    @property
    def going_away(self) -> bool:
        """A hedge on it is about to be (or has been) closed by the venue, or cannot grow."""
        return self in (
            InstrumentStatus.REDUCE_ONLY,
            InstrumentStatus.DELISTING,
            InstrumentStatus.SETTLING,
            InstrumentStatus.CLOSED,
        )


class Quote(msgspec.Struct, frozen=True, gc=False, kw_only=True):
    """One normalised market update for one instrument.

    ``symbol`` is the venue-native name (``BTCUSD``, ``BTCUSD_PERP``, ``BTC-USD-SWAP``,
    ``BTC-PERPETUAL``, spot ``BTCUSDT``...). A field the message did not carry is ``None``;
    for venues that push deltas the adapter has already merged them, so a quote is the
    venue's full latest view of the instrument.
    """

    venue: str
    symbol: str
    kind: Kind
    mark: float | None = None
    index: float | None = None
    last: float | None = None
    bid: float | None = None
    ask: float | None = None
    funding_rate: float | None = None
    next_funding_ms: int | None = None
    funding_interval_ms: int | None = None
    exchange_ms: int | None = None
    received_ms: int = 0


class FeedState(StrEnum):
    CONNECTING = "connecting"
    LIVE = "live"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"


class FeedHealth(msgspec.Struct, frozen=True, kw_only=True):
    """A point-in-time view of one feed connection, for the status bar and the recorder."""

    venue: str
    url: str
    state: FeedState
    messages: int = 0
    quotes: int = 0
    parse_errors: int = 0
    ignored: int = 0
    reconnects: int = 0
    stale_periods: int = 0
    last_message_ms: int | None = None
    stale_symbols: tuple[str, ...] = ()
    # Bad data refused at the door (``core.feeds.validate``): counts, and the last refusal.
    rejected: int = 0
    out_of_order: int = 0
    duplicates: int = 0
    oversize: int = 0
    resubscribes: int = 0
    sub_errors: int = 0
    last_reject: str | None = None
    last_reject_ms: int | None = None


class Side(StrEnum):
    SHORT = "short"
    LONG = "long"


class OrderSide(StrEnum):
    BUY = "buy"
    SELL = "sell"


class OrderRoute(StrEnum):
    """Where a hedge's confirmed resize goes: the paper broker (the engine fills it at mark),
    the built-in simulator's account through the unchanged ccxt (the demo's path, a real
    venue's code), or a real venue (every live-trading gate open)."""

    PAPER = "paper"
    SIMULATOR = "simulator"
    VENUE = "venue"


class Fill(msgspec.Struct, frozen=True, kw_only=True):
    """An executed order against a hedge position (paper or live).

    ``contracts`` is always positive; ``side`` says which way. ``realized_pnl_coin`` is the
    PnL realised by the reducing part of the order (0 for an increase), in the settlement coin.
    ``mark`` is the mark price when the order filled (None: not known, e.g. a fill recorded
    before it was kept): the slippage of the fill is measured against it.
    """

    ts_ms: int
    hedge_id: str
    venue: str
    symbol: str
    side: OrderSide
    contracts: int
    size_usd: float
    price: float
    fee_coin: float
    realized_pnl_coin: float
    contracts_after: int
    entry_after: float | None
    broker: str = "paper"
    mark: float | None = None


class MarginTransfer(msgspec.Struct, frozen=True, kw_only=True):
    """Isolated margin moved into (``amount_coin`` > 0) or out of (< 0) one hedge's position,
    in its settlement coin: how a hedger moves liquidation away without touching the hedge.
    ``margin_after_coin`` is the position's margin once it moved."""

    ts_ms: int
    hedge_id: str
    venue: str
    symbol: str
    amount_coin: float
    margin_after_coin: float
    broker: str = "paper"


class FundingEvent(msgspec.Struct, frozen=True, kw_only=True):
    """A funding settlement applied to one hedge's margin. ``amount_coin`` > 0: received."""

    ts_ms: int
    hedge_id: str
    venue: str
    symbol: str
    rate: float
    mark: float
    size_usd: float
    amount_coin: float


class AlertState(StrEnum):
    RAISED = "raised"
    CLEARED = "cleared"


class AlertEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An alert changing state. ``key`` identifies the rule and its subject (e.g.
    ``liq_distance:bybit:BTCUSD``) so that raise and clear pair up."""

    ts_ms: int
    key: str
    rule: str
    subject: str
    state: AlertState
    message: str
    value: float | None = None
