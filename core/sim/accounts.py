"""One venue's simulated account: spot coins, a coin-margined futures wallet per coin, one
position per coin (one-way mode: one inverse perpetual per coin and venue), orders,
executions, the transaction log and closed PnL.

Everything the market does to the account happens here: fills at the simulated book with the
venue's fee, funding at each settlement, liquidation when equity falls to maintenance. What
differs between venues (fees, initial and maintenance margin, the liquidation price they
report) comes from the venue's ``MarginRules``; what the venue's wire looks like is the venue
package's business. The amounts are coin; sizes are USD face value (every venue's contracts
are whole multiples of a face value, ``lot``).

Accounting (the venues' own, as their docs describe it): the wallet balance of a coin includes
the isolated margins of its position; opening moves initial margin from available to the
position; closing adds the realised PnL ``Q·(1/P0 − 1/P)`` (long; minus for a short) to the
wallet; fees and funding go to the wallet, and to the isolated margin too when the position is
isolated. A liquidated position is closed at its bankruptcy price, the price at which its
collateral plus PnL is zero: the collateral is lost, nothing more.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from core.sim.book import Book, Level
from core.sim.seed import MarginMode, VenueSeed

EPS = 1e-12


class Side(enum.Enum):
    BUY = 1
    SELL = -1


class OrderType(enum.Enum):
    MARKET = "market"
    LIMIT = "limit"


class TimeInForce(enum.Enum):
    GTC = "gtc"
    IOC = "ioc"
    FOK = "fok"
    POST_ONLY = "post_only"


class OrderStatus(enum.Enum):
    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    PARTIALLY_FILLED_CANCELED = "partially_filled_canceled"  # remainder cancelled (IOC, market)
    REJECTED = "rejected"

    @property
    def open(self) -> bool:
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


class ExecKind(enum.Enum):
    TRADE = "trade"
    FUNDING = "funding"
    LIQUIDATION = "liquidation"


class EventKind(enum.Enum):
    ORDER = "order"
    EXECUTION = "execution"
    POSITION = "position"
    WALLET = "wallet"
    MARGIN_CALL = "margin_call"


class WalletReason(enum.Enum):
    ORDER = "order"
    FUNDING = "funding"
    LIQUIDATION = "liquidation"


class RejectReason(enum.Enum):
    DUPLICATE_CLIENT_ID = "duplicate_client_id"
    INSUFFICIENT_MARGIN = "insufficient_margin"
    REDUCE_ONLY_INCREASE = "reduce_only_increase"
    UNKNOWN_ORDER = "unknown_order"
    BAD_QTY = "bad_qty"
    BAD_PRICE = "bad_price"
    NOT_CANCELABLE = "not_cancelable"
    POST_ONLY_WOULD_TAKE = "post_only_would_take"
    FOK_UNFILLABLE = "fok_unfillable"
    NO_POSITION = "no_position"
    CROSS_MARGIN = "cross_margin"
    WOULD_LIQUIDATE = "would_liquidate"


class AccountError(Exception):
    """The account refused a request; the venue turns ``reason`` into its own code."""

    def __init__(self, reason: RejectReason, detail: str = "") -> None:
        super().__init__(f"{reason.value}: {detail}" if detail else reason.value)
        self.reason = reason
        self.detail = detail


class MarginRules(Protocol):
    """A venue's margin and fee rules, as its docs give them (see each venue's margin.py)."""

    taker_fee: float
    maker_fee: float

    def default_leverage(self, coin: str) -> float: ...

    def initial_margin(self, coin: str, qty: int, price: float, leverage: float) -> float:
        """Initial margin (coin) of ``qty`` USD opened at ``price``."""
        ...

    def maintenance_margin(self, pos: Position, mark: float) -> float:
        """Maintenance margin (coin) of ``pos`` at ``mark``."""
        ...

    def liquidation_price(self, pos: Position, collateral: float) -> float | None:
        """The mark price at which ``pos`` backed by ``collateral`` is liquidated (None:
        never)."""
        ...


@dataclass(slots=True)
class Position:
    coin: str
    size: int = 0  # USD face value, signed: > 0 long, < 0 short
    entry: float = 0.0
    leverage: float = 1.0
    mode: MarginMode = MarginMode.CROSS
    margin: float = 0.0  # isolated margin (coin); 0 for cross
    realised_cum: float = 0.0  # since the position was first opened (fees and funding in)
    realised_cur: float = 0.0  # of the current position
    created_ms: int = 0
    updated_ms: int = 0
    seq: int = 0

    @property
    def qty(self) -> int:
        return abs(self.size)

    @property
    def sign(self) -> int:
        return (self.size > 0) - (self.size < 0)

    def value_at_entry(self) -> float:
        return self.qty / self.entry if self.entry else 0.0

    def upnl(self, mark: float) -> float:
        """Unrealised PnL in coin: long ``Q·(1/P0 − 1/P)``, short ``Q·(1/P − 1/P0)``."""
        if not self.size or not self.entry or mark <= 0:
            return 0.0
        return self.size * (1.0 / self.entry - 1.0 / mark)


@dataclass(slots=True)
class Order:
    id: str
    client_id: str
    coin: str
    side: Side
    type: OrderType
    qty: int
    price: float | None
    reduce_only: bool
    tif: TimeInForce
    created_ms: int
    updated_ms: int
    status: OrderStatus = OrderStatus.NEW
    filled: int = 0
    value: float = 0.0  # coin value of the fills (Σ qty/price)
    fee: float = 0.0
    liquidation: bool = False
    reject: RejectReason | None = None

    @property
    def leaves(self) -> int:
        return self.qty - self.filled if self.status.open else 0

    @property
    def avg_price(self) -> float | None:
        return self.filled / self.value if self.value > 0 else None


@dataclass(frozen=True, slots=True)
class Execution:
    id: str
    order_id: str
    client_id: str
    coin: str
    side: Side
    kind: ExecKind
    price: float
    qty: int
    value: float  # coin
    fee: float  # coin, > 0 paid; for funding the amount paid (< 0 received)
    fee_rate: float
    maker: bool
    ts_ms: int
    closed_qty: int
    realised: float  # coin, the trade's PnL before fees
    order_qty: int
    order_price: float | None
    order_type: OrderType
    leaves: int
    mark: float
    index: float


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """One change of a futures wallet, as the transaction log / income history lists it."""

    id: int
    ts_ms: int
    coin: str
    kind: ExecKind
    change: float  # what the wallet changed by (coin)
    fee: float  # trading fee paid (> 0) in it
    funding: float  # funding received (> 0) or paid (< 0) in it
    realised: float  # trade PnL before fees in it
    balance: float  # wallet balance after
    qty: int
    side: Side | None
    price: float
    rate: float
    exec_id: str
    order_id: str
    client_id: str


@dataclass(frozen=True, slots=True)
class ClosedPnl:
    coin: str
    order_id: str
    side: Side  # of the closing order
    qty: int
    entry: float
    exit: float  # average exit price of this closing fill
    pnl: float  # realised, fees of the closing fill out
    ts_ms: int
    order_type: OrderType
    leverage: float


@dataclass(frozen=True, slots=True)
class AccountEvent:
    kind: EventKind
    coin: str
    order: Order | None = None
    execution: Execution | None = None
    reason: WalletReason = WalletReason.ORDER


@dataclass(slots=True)
class Ids:
    """Id sources the venue formats (Bybit uses UUIDs, Binance integers)."""

    order_id: Callable[[], str]
    exec_id: Callable[[], str]
    next_ledger: int = 1


@dataclass(slots=True)
class _MarginCall:
    raised: bool = False


class Account:
    """See the module doc. ``books[coin]`` is the venue's book of that coin; ``lot(coin)`` the
    face value of one contract (USD); ``index(coin)`` the index price."""

    def __init__(
        self,
        venue: str,
        rules: MarginRules,
        books: dict[str, Book],
        *,
        lot: Callable[[str], int],
        index: Callable[[str], float],
        now_ms: Callable[[], int],
        ids: Ids,
        seed: VenueSeed,
    ) -> None:
        self.venue = venue
        self.rules = rules
        self.books = books
        self.lot = lot
        self.index = index
        self.now_ms = now_ms
        self.ids = ids
        self.unified = seed.unified
        self.spot: dict[str, float] = {c.upper(): float(v) for c, v in seed.spot.items()}
        self.wallet: dict[str, float] = {c.upper(): float(v) for c, v in seed.futures.items()}
        self.positions: dict[str, Position] = {}
        self.modes: dict[str, MarginMode] = {}
        self.leverages: dict[str, float] = {}
        self.orders: dict[str, Order] = {}
        self.by_client: dict[str, str] = {}
        self.executions: list[Execution] = []
        self.ledger: list[LedgerEntry] = []
        self.closed_pnl: list[ClosedPnl] = []
        self.listeners: list[Callable[[AccountEvent], None]] = []
        self.liquidations: list[Execution] = []
        self._calls: dict[str, _MarginCall] = {}
        now = now_ms()
        for ps in seed.positions:
            coin = ps.coin.upper()
            if coin not in books:
                raise ValueError(f"{venue}: no {coin} perpetual in the simulated market")
            size = ps.contracts * lot(coin) * (1 if ps.side.value == "long" else -1)
            pos = Position(
                coin=coin,
                size=size,
                entry=float(ps.entry),
                leverage=float(ps.leverage),
                mode=ps.margin_mode,
                margin=float(ps.margin_coin) if ps.margin_mode is MarginMode.ISOLATED else 0.0,
                created_ms=now,
                updated_ms=now,
            )
            self.positions[coin] = pos
            self.modes[coin] = ps.margin_mode
            self.leverages[coin] = pos.leverage
            self.wallet.setdefault(coin, 0.0)
            if pos.margin > self.wallet[coin] + EPS:
                # The seed's wallet must hold the isolated margin it names.
                self.wallet[coin] = pos.margin

    # -- reading -------------------------------------------------------------------------------

    def position(self, coin: str) -> Position:
        coin = coin.upper()
        pos = self.positions.get(coin)
        if pos is None:
            pos = Position(
                coin=coin,
                leverage=self.leverages.get(coin, self.rules.default_leverage(coin)),
                mode=self.modes.get(coin, MarginMode.CROSS),
            )
            self.positions[coin] = pos
        return pos

    def mark(self, coin: str) -> float:
        return self.books[coin].mark()

    def coins(self) -> list[str]:
        """Every coin with a futures wallet or a position."""
        return sorted(set(self.wallet) | {c for c, p in self.positions.items() if p.size})

    def order_margin(self, coin: str) -> float:
        """Initial margin held by the open orders of ``coin`` (their opening part)."""
        total = 0.0
        pos = self.positions.get(coin)
        for o in self.orders.values():
            if o.coin != coin or not o.status.open or o.reduce_only or o.price is None:
                continue
            lev = pos.leverage if pos else self.rules.default_leverage(coin)
            total += self.rules.initial_margin(coin, o.leaves, o.price, lev)
        return total

    def position_margin(self, coin: str) -> float:
        """Initial margin of the position: the isolated margin, or for cross the IM at entry."""
        pos = self.positions.get(coin)
        if pos is None or not pos.size:
            return 0.0
        if pos.mode is MarginMode.ISOLATED:
            return pos.margin
        return self.rules.initial_margin(coin, pos.qty, pos.entry, pos.leverage)

    def collateral(self, pos: Position) -> float:
        """What backs ``pos``: its isolated margin, or (cross) the coin's wallet balance."""
        if pos.mode is MarginMode.ISOLATED:
            return pos.margin
        return self.wallet.get(pos.coin, 0.0)

    def available(self, coin: str) -> float:
        """Balance free for new orders and withdrawal (coin)."""
        coin = coin.upper()
        pos = self.positions.get(coin)
        upnl = 0.0
        if pos is not None and pos.size and pos.mode is MarginMode.CROSS:
            upnl = min(0.0, pos.upnl(self.mark(coin)))
        free = (
            self.wallet.get(coin, 0.0) - self.position_margin(coin) - self.order_margin(coin) + upnl
        )
        return max(0.0, free)

    def equity(self, coin: str) -> float:
        pos = self.positions.get(coin)
        upnl = pos.upnl(self.mark(coin)) if pos is not None and pos.size else 0.0
        return self.wallet.get(coin, 0.0) + upnl

    def liquidation_price(self, coin: str) -> float | None:
        pos = self.positions.get(coin)
        if pos is None or not pos.size:
            return None
        return self.rules.liquidation_price(pos, self.collateral(pos))

    def bankruptcy_price(self, pos: Position) -> float | None:
        """The price at which collateral + PnL is zero (None: never, e.g. a 1x short)."""
        c = self.collateral(pos)
        inv = 1.0 / pos.entry - pos.sign * c / pos.qty
        return 1.0 / inv if inv > EPS else None

    def order(self, order_id: str | None = None, client_id: str | None = None) -> Order:
        oid = order_id if order_id else self.by_client.get(client_id or "", "")
        o = self.orders.get(oid)
        if o is None:
            raise AccountError(RejectReason.UNKNOWN_ORDER, order_id or client_id or "")
        return o

    # -- margin --------------------------------------------------------------------------------

    def move_margin(self, coin: str, amount: float) -> Position:
        """Move ``amount`` coin of the wallet's free balance into an isolated position's
        margin (< 0: back out of it). Refused: no position, cross margin, more than is free
        (adding), or leaving the position at or past its maintenance margin (removing)."""
        coin = coin.upper()
        pos = self.positions.get(coin)
        if pos is None or not pos.size:
            raise AccountError(RejectReason.NO_POSITION, coin)
        if pos.mode is not MarginMode.ISOLATED:
            raise AccountError(RejectReason.CROSS_MARGIN, coin)
        if amount > 0 and amount > self.available(coin) + EPS:
            raise AccountError(RejectReason.INSUFFICIENT_MARGIN, f"{amount:g} {coin}")
        if amount < 0:
            mark = self.mark(coin)
            after = pos.margin + amount
            if after <= 0 or after + pos.upnl(mark) <= self.rules.maintenance_margin(pos, mark):
                raise AccountError(RejectReason.WOULD_LIQUIDATE, f"{amount:g} {coin}")
        pos.margin += amount
        pos.seq += 1
        return pos

    # -- orders --------------------------------------------------------------------------------

    def place(
        self,
        coin: str,
        side: Side,
        type_: OrderType,
        qty: int,
        price: float | None = None,
        *,
        reduce_only: bool = False,
        client_id: str = "",
        tif: TimeInForce = TimeInForce.GTC,
    ) -> Order:
        """Place an order; fills what crosses at once, rests the rest (limit GTC). Raises
        ``AccountError`` for what the venue refuses outright."""
        coin = coin.upper()
        if coin not in self.books:
            raise AccountError(RejectReason.BAD_QTY, f"no {coin} perpetual")
        if client_id and client_id in self.by_client:
            raise AccountError(RejectReason.DUPLICATE_CLIENT_ID, client_id)
        lot = self.lot(coin)
        if qty <= 0 or qty % lot:
            raise AccountError(RejectReason.BAD_QTY, f"{qty} is not a positive multiple of {lot}")
        if type_ is OrderType.LIMIT and (price is None or not math.isfinite(price) or price <= 0):
            raise AccountError(RejectReason.BAD_PRICE, repr(price))
        if type_ is OrderType.MARKET:
            price = None
        pos = self.position(coin)
        book = self.books[coin]
        against = pos.qty if pos.sign == -side.value else 0
        if reduce_only:
            if not against:
                raise AccountError(RejectReason.REDUCE_ONLY_INCREASE, "no position to reduce")
            qty = min(qty, against)
        opening = max(0, qty - against)
        if opening:
            ref = (
                price
                if price is not None
                else (book.asks if side is Side.BUY else book.bids)[0].price
            )
            need = self.rules.initial_margin(coin, opening, ref, pos.leverage)
            need += opening / ref * self.rules.taker_fee
            if need > self.available(coin) + EPS:
                raise AccountError(
                    RejectReason.INSUFFICIENT_MARGIN,
                    f"needs {need:.8f} {coin}, available {self.available(coin):.8f}",
                )
        levels = book.asks if side is Side.BUY else book.bids
        crosses = bool(levels) and (
            price is None
            or (levels[0].price <= price if side is Side.BUY else levels[0].price >= price)
        )
        if tif is TimeInForce.POST_ONLY and crosses:
            raise AccountError(RejectReason.POST_ONLY_WOULD_TAKE, "post-only order would take")
        if tif is TimeInForce.FOK and self._fillable(levels, side, price) < qty:
            raise AccountError(RejectReason.FOK_UNFILLABLE, "cannot fill the whole quantity")
        now = self.now_ms()
        order = Order(
            id=self.ids.order_id(),
            client_id=client_id,
            coin=coin,
            side=side,
            type=type_,
            qty=qty,
            price=price,
            reduce_only=reduce_only,
            tif=tif,
            created_ms=now,
            updated_ms=now,
        )
        self.orders[order.id] = order
        if client_id:
            self.by_client[client_id] = order.id
        self._emit(AccountEvent(EventKind.ORDER, coin, order=order))
        self._take(order, levels)
        if order.status.open and (type_ is OrderType.MARKET or tif is TimeInForce.IOC):
            order.status = (
                OrderStatus.PARTIALLY_FILLED_CANCELED if order.filled else OrderStatus.CANCELED
            )
            order.updated_ms = now
            self._emit(AccountEvent(EventKind.ORDER, coin, order=order))
        return order

    @staticmethod
    def _fillable(levels: list[Level], side: Side, price: float | None) -> int:
        total = 0
        for lv in levels:
            if price is not None and (lv.price > price if side is Side.BUY else lv.price < price):
                break
            total += lv.size
        return total

    def cancel(self, order_id: str | None = None, client_id: str | None = None) -> Order:
        o = self.order(order_id, client_id)
        if not o.status.open:
            raise AccountError(RejectReason.NOT_CANCELABLE, o.id)
        o.status = OrderStatus.PARTIALLY_FILLED_CANCELED if o.filled else OrderStatus.CANCELED
        o.updated_ms = self.now_ms()
        self._emit(AccountEvent(EventKind.ORDER, o.coin, order=o))
        return o

    def _take(self, order: Order, levels: list[Level]) -> None:
        """Fill ``order`` as taker against the levels it crosses, as far as their depth goes."""
        lot = self.lot(order.coin)
        for lv in levels:
            left = order.qty - order.filled
            if left <= 0:
                break
            if order.price is not None and (
                lv.price > order.price if order.side is Side.BUY else lv.price < order.price
            ):
                break
            take = min(left, lv.size // lot * lot)
            if take <= 0:
                continue
            lv.size -= take
            self._fill(order, lv.price, take, maker=False)

    def match_resting(self) -> None:
        """Resting limit orders fill (as maker, at their price) when the book crosses them."""
        for o in list(self.orders.values()):
            if not o.status.open or o.price is None:
                continue
            book = self.books[o.coin]
            levels = book.asks if o.side is Side.BUY else book.bids
            if not levels:
                continue
            top = levels[0].price
            if (o.side is Side.BUY and top > o.price) or (o.side is Side.SELL and top < o.price):
                continue
            lot = self.lot(o.coin)
            avail = 0
            for lv in levels:
                if (o.side is Side.BUY and lv.price > o.price) or (
                    o.side is Side.SELL and lv.price < o.price
                ):
                    break
                avail += lv.size
            take = min(o.qty - o.filled, avail // lot * lot)
            if o.reduce_only:
                pos = self.position(o.coin)
                take = min(take, pos.qty if pos.sign == -o.side.value else 0)
                if take <= 0:
                    o.status = OrderStatus.CANCELED if not o.filled else o.status
                    if o.status is OrderStatus.CANCELED:
                        o.updated_ms = self.now_ms()
                        self._emit(AccountEvent(EventKind.ORDER, o.coin, order=o))
                    continue
            if take <= 0:
                continue
            # consume the crossing depth
            need = take
            for lv in levels:
                if need <= 0:
                    break
                used = min(need, lv.size)
                lv.size -= used
                need -= used
            self._fill(o, o.price, take, maker=True)

    def _fill(
        self,
        order: Order,
        price: float,
        qty: int,
        *,
        maker: bool,
        kind: ExecKind = ExecKind.TRADE,
    ) -> Execution:
        coin = order.coin
        pos = self.position(coin)
        now = self.now_ms()
        d = order.side.value
        rate = (
            0.0
            if kind is ExecKind.LIQUIDATION
            else (self.rules.maker_fee if maker else self.rules.taker_fee)
        )
        value = qty / price
        fee = value * rate
        closed = 0
        realised = 0.0
        if pos.size and pos.sign == -d:
            closed = min(qty, pos.qty)
            realised = pos.sign * closed * (1.0 / pos.entry - 1.0 / price)
            if pos.mode is MarginMode.ISOLATED:
                release = pos.margin * closed / pos.qty
                pos.margin -= release
                if kind is ExecKind.LIQUIDATION:
                    realised = -release  # closed at bankruptcy: the margin, exactly
            self.wallet[coin] = self.wallet.get(coin, 0.0) + realised
            entry = pos.entry
            pos.size += d * closed
            pos.realised_cur += realised
            pos.realised_cum += realised
            self.closed_pnl.append(
                ClosedPnl(
                    coin=coin,
                    order_id=order.id,
                    side=order.side,
                    qty=closed,
                    entry=entry,
                    exit=price,
                    pnl=realised - fee * closed / qty,
                    ts_ms=now,
                    order_type=order.type,
                    leverage=pos.leverage,
                )
            )
        opened = qty - closed
        if opened:
            if not pos.size:
                pos.entry = price
                pos.created_ms = now
                pos.realised_cur = 0.0
            else:
                pos.entry = (pos.qty + opened) / (pos.qty / pos.entry + opened / price)
            pos.size += d * opened
            if pos.mode is MarginMode.ISOLATED:
                pos.margin += self.rules.initial_margin(coin, opened, price, pos.leverage)
        if not pos.size:
            pos.entry = 0.0
            pos.margin = 0.0
        self.wallet[coin] = self.wallet.get(coin, 0.0) - fee  # out of the available balance
        pos.realised_cur -= fee
        pos.realised_cum -= fee
        pos.updated_ms = now
        pos.seq += 1
        order.filled += qty
        order.value += value
        order.fee += fee
        order.updated_ms = now
        if order.filled >= order.qty:
            order.status = OrderStatus.FILLED
        else:
            order.status = OrderStatus.PARTIALLY_FILLED
        ex = Execution(
            id=self.ids.exec_id(),
            order_id=order.id,
            client_id=order.client_id,
            coin=coin,
            side=order.side,
            kind=kind,
            price=price,
            qty=qty,
            value=value,
            fee=fee,
            fee_rate=rate,
            maker=maker,
            ts_ms=now,
            closed_qty=closed,
            realised=realised,
            order_qty=order.qty,
            order_price=order.price,
            order_type=order.type,
            leaves=order.leaves,
            mark=self.mark(coin),
            index=self.index(coin),
        )
        self.executions.append(ex)
        self._log(ex, change=realised - fee, fee=fee, funding=0.0, rate=rate)
        reason = WalletReason.LIQUIDATION if kind is ExecKind.LIQUIDATION else WalletReason.ORDER
        self._emit(AccountEvent(EventKind.ORDER, coin, order=order))
        self._emit(AccountEvent(EventKind.EXECUTION, coin, order=order, execution=ex))
        self._emit(AccountEvent(EventKind.POSITION, coin, reason=reason))
        self._emit(AccountEvent(EventKind.WALLET, coin, reason=reason))
        return ex

    def _log(
        self, ex: Execution, *, change: float, fee: float, funding: float, rate: float
    ) -> None:
        self.ledger.append(
            LedgerEntry(
                id=self.ids.next_ledger,
                ts_ms=ex.ts_ms,
                coin=ex.coin,
                kind=ex.kind,
                change=change,
                fee=fee,
                funding=funding,
                realised=ex.realised,
                balance=self.wallet.get(ex.coin, 0.0),
                qty=ex.qty,
                side=ex.side,
                price=ex.price,
                rate=rate,
                exec_id=ex.id,
                order_id=ex.order_id,
                client_id=ex.client_id,
            )
        )
        self.ids.next_ledger += 1

    # -- the market's doing --------------------------------------------------------------------

    def settle_funding(self, coin: str, rate: float, mark: float, ts_ms: int) -> Execution | None:
        """Funding at a funding time: ``Q/mark · rate`` coin, longs pay shorts when the rate is
        positive; into the wallet (and the isolated margin)."""
        pos = self.positions.get(coin)
        if pos is None or not pos.size or mark <= 0:
            return None
        value = pos.qty / mark
        received = -pos.sign * value * rate
        self.wallet[coin] = self.wallet.get(coin, 0.0) + received
        if pos.mode is MarginMode.ISOLATED:
            pos.margin += received
        pos.realised_cur += received
        pos.realised_cum += received
        pos.updated_ms = ts_ms
        pos.seq += 1
        ex = Execution(
            id=self.ids.exec_id(),
            order_id="",
            client_id="",
            coin=coin,
            side=Side.SELL if pos.sign < 0 else Side.BUY,
            kind=ExecKind.FUNDING,
            price=mark,
            qty=pos.qty,
            value=value,
            fee=-received,
            fee_rate=rate,
            maker=False,
            ts_ms=ts_ms,
            closed_qty=0,
            realised=0.0,
            order_qty=0,
            order_price=None,
            order_type=OrderType.MARKET,
            leaves=0,
            mark=mark,
            index=self.index(coin),
        )
        self.executions.append(ex)
        self._log(ex, change=received, fee=0.0, funding=received, rate=rate)
        self._emit(
            AccountEvent(EventKind.EXECUTION, coin, execution=ex, reason=WalletReason.FUNDING)
        )
        self._emit(AccountEvent(EventKind.POSITION, coin, reason=WalletReason.FUNDING))
        self._emit(AccountEvent(EventKind.WALLET, coin, reason=WalletReason.FUNDING))
        return ex

    def check_liquidations(self, margin_call_ratio: float = 0.8) -> list[Execution]:
        """Liquidate every position whose equity (collateral + PnL at mark) has fallen to its
        maintenance margin; raise a margin call once when MM/equity first reaches
        ``margin_call_ratio``."""
        out: list[Execution] = []
        for coin, pos in list(self.positions.items()):
            if not pos.size:
                continue
            mark = self.mark(coin)
            equity = self.collateral(pos) + pos.upnl(mark)
            mm = self.rules.maintenance_margin(pos, mark)
            call = self._calls.setdefault(coin, _MarginCall())
            ratio = mm / equity if equity > 0 else math.inf
            if ratio >= margin_call_ratio and not call.raised:
                call.raised = True
                self._emit(AccountEvent(EventKind.MARGIN_CALL, coin))
            elif ratio < margin_call_ratio * 0.9:
                call.raised = False
            if equity > mm:
                continue
            out.append(self._liquidate(pos))
            call.raised = False
        return out

    def _liquidate(self, pos: Position) -> Execution:
        coin = pos.coin
        for o in list(self.orders.values()):
            if o.coin == coin and o.status.open:
                self.cancel(o.id)
        bust = self.bankruptcy_price(pos)
        if bust is None:  # cannot happen for a position that reached maintenance
            bust = self.mark(coin)
        tick = self.books[coin].tick
        bust = max(tick, round(bust / tick) * tick)
        now = self.now_ms()
        order = Order(
            id=self.ids.order_id(),
            client_id="",
            coin=coin,
            side=Side.BUY if pos.size < 0 else Side.SELL,
            type=OrderType.MARKET,
            qty=pos.qty,
            price=None,
            reduce_only=True,
            tif=TimeInForce.IOC,
            created_ms=now,
            updated_ms=now,
            liquidation=True,
        )
        self.orders[order.id] = order
        ex = self._fill(order, bust, pos.qty, maker=False, kind=ExecKind.LIQUIDATION)
        if pos.mode is MarginMode.CROSS and self.wallet.get(coin, 0.0) < 0:
            self.wallet[coin] = 0.0  # the insurance fund takes the rounding
        self.liquidations.append(ex)
        return ex

    def _emit(self, ev: AccountEvent) -> None:
        for fn in self.listeners:
            fn(ev)


@dataclass(slots=True)
class Accounts:
    """The account of every API key on one venue (one key today, the seed's)."""

    by_key: dict[str, tuple[str, Account]] = field(default_factory=dict)  # key -> (secret, acct)

    def add(self, key: str, secret: str, account: Account) -> None:
        self.by_key[key] = (secret, account)

    def get(self, key: str) -> tuple[str, Account] | None:
        return self.by_key.get(key)

    def all(self) -> list[Account]:
        return [a for _, a in self.by_key.values()]
