"""The typed values an account read produces. Quantities carry their unit in the name
(``_usd``, ``_coin``, ``_ms``); a figure the exchange did not give is ``None``, never 0."""

from __future__ import annotations

from enum import StrEnum

import msgspec

from core.events import Kind, OrderSide, Side, Venue


class WalletKind(StrEnum):
    """Which wallet a balance sits in. ``UNIFIED``: a Bybit Unified Trading Account, where spot
    and derivatives share one wallet (reading it twice would count every coin twice)."""

    SPOT = "spot"
    FUTURES = "futures"
    UNIFIED = "unified"


class ExecKind(StrEnum):
    """What an own execution was, in the venue's own words (``core.accounts.normalise`` reads
    them): a fill whose venue said nothing has ``ExchangeFill.exec_kind`` None, never TRADE.

    ``SETTLEMENT``: the venue closed the position itself at a delivery or a delisting (Bybit
    ``Delivery``/``Settle``, Binance ``settlement_autoclose-``); ``MOVE_POSITION``: moved
    between accounts (Bybit ``MovePosition``); ``BLOCK_TRADE``: a block trade (Bybit)."""

    TRADE = "trade"
    LIQUIDATION = "liquidation"
    ADL = "adl"
    SETTLEMENT = "settlement"
    BLOCK_TRADE = "block_trade"
    MOVE_POSITION = "move_position"


class MarginMode(StrEnum):
    ISOLATED = "isolated"
    CROSS = "cross"


class AccountPosition(msgspec.Struct, frozen=True, kw_only=True):
    """One open coin-margined position as the exchange reports it.

    ``contracts`` is in the venue's own order unit (USD on Bybit and Deribit, contracts of
    ``face`` USD on Binance COIN-M and OKX); ``size_usd`` is its USD face value, computed from
    the contracts and the venue's unit (never from ccxt's ``notional``). ``liq_price`` is the
    exchange's own figure (None: the exchange gave none, e.g. Bybit's empty ``liqPrice``).
    ``hedged``: the venue runs this symbol in hedge mode (a long and a short may both exist).
    """

    venue: Venue
    symbol: str  # venue-native: BTCUSD, BTCUSD_PERP, BTCUSD_260327, BTC-USD-SWAP, BTC-PERPETUAL
    coin: str  # settlement coin
    kind: Kind  # INVERSE_PERP or INVERSE_FUTURE (dated)
    side: Side
    contracts: float
    size_usd: float
    entry: float | None
    liq_price: float | None
    margin_mode: MarginMode | None
    leverage: float | None
    margin_coin: float | None = None  # isolated margin the exchange holds for it
    mark: float | None = None
    unrealized_pnl_coin: float | None = None
    expiry_ms: int | None = None  # dated futures only
    hedged: bool = False
    ccxt_symbol: str = ""


class WalletBalance(msgspec.Struct, frozen=True, kw_only=True):
    venue: Venue
    wallet: WalletKind
    coin: str
    total: float
    free: float | None


class FundingPayment(msgspec.Struct, frozen=True, kw_only=True):
    """A funding settlement the exchange booked. ``amount_coin`` > 0: received, < 0: paid,
    in ``coin`` (the settlement coin, whatever ccxt's ``code`` said). ``exchange_id`` is the
    venue's id of the booking (Bybit execId / transaction id, Binance tranId): the key that
    makes recording it idempotent."""

    venue: Venue
    symbol: str
    ts_ms: int
    amount_coin: float
    coin: str
    exchange_id: str


class ExchangeFill(msgspec.Struct, frozen=True, kw_only=True):
    """One own execution. ``contracts`` in the venue's unit (see ``AccountPosition``).
    ``exec_kind``: what the venue says it was (None: the venue's answer does not say, e.g.
    Binance's REST userTrades)."""

    venue: Venue
    symbol: str
    ts_ms: int
    side: OrderSide
    contracts: float
    size_usd: float
    price: float | None
    fee_coin: float | None
    fee_currency: str | None
    trade_id: str
    order_id: str | None
    client_order_id: str | None
    exec_kind: ExecKind | None = None


class AccountState(msgspec.Struct, frozen=True, kw_only=True):
    """One read of one account. ``notes`` say what was not read and why (never silence)."""

    account: str
    venue: Venue
    read_ms: int
    positions: tuple[AccountPosition, ...] = ()
    balances: tuple[WalletBalance, ...] = ()
    funding: tuple[FundingPayment, ...] = ()
    fills: tuple[ExchangeFill, ...] = ()
    unified: bool | None = None  # Bybit UTA; None: not a Bybit account or not known
    funding_since_ms: int | None = None
    notes: tuple[str, ...] = ()

    def funding_received(self) -> dict[str, float]:
        """Net funding per coin over the read window (> 0: received)."""
        out: dict[str, float] = {}
        for f in self.funding:
            out[f.coin] = out.get(f.coin, 0.0) + f.amount_coin
        return out


class AccountReadError(RuntimeError):
    """An account could not be read: one line for the user, no secret in it. ``kind`` is
    ``missing_env``, ``auth``, ``unreachable`` or ``exchange``."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        self.kind = kind
