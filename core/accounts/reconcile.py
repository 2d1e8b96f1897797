"""What the exchange reports against what hedgetop expected (issue 12 §2, "reconciliation,
never silent"): pure functions, no I/O, no clock (``now_ms`` is passed in).

The exchange is the source of truth for an account. Each read (``core.accounts.reader``) is
compared with what hedgetop expected, and every difference becomes a ``ReconcileEvent`` that
carries both values, their difference and one line for a human. Nothing is smoothed over:
contracts compare exactly (they are integers in the venue's unit), and a wallet balance is
only let through when the read's own funding and fees explain the move.

How the session is meant to use it (it is not wired in yet):

1. At start, ``expected_positions(config.hedges, {a.name: a.venue for a in config.accounts},
   contracts=...)`` gives the expectation from the config (with the engine's contracts after the
   ledger's replay); later reads use ``expected_from_state(previous_read)`` (as of that read),
   so each event is a change since the last read. Orders hedgetop placed itself in between are
   passed as ``known_trade_ids`` (their trade ids) with the expectation moved by them, so that
   only what happened outside hedgetop is reported.
2. After each read: ``events = reconcile(positions, balances, state, now_ms=...)``; the events
   go on screen and in the history (``storage.account_log.record_events``), and the read's
   fills and funding are recorded once each (``record_fills`` / ``record_funding``: idempotent
   by the exchange's ids, so a restart re-reads the 7-day window without doubling anything).
3. ``adopt_positions(config.hedges, state)`` gives the hedges the engine should hold: the
   exchange's figures replace the configured ones for every hedge that names the account (the
   ledger's fills from before the read must then not be replayed on top of them); its notes
   are shown like the events.

Classifying a change. A position difference is one of ``POSITION_OPENED`` (expected flat),
``POSITION_CLOSED`` (the exchange is flat), ``SIDE_FLIPPED`` or ``POSITION_CHANGED``. When the
expectation says when it was true (``as_of_ms``), the read's own executions after that time
that hedgetop did not place (``known_trade_ids``) are summed: when they add up to the
difference exactly, the event names them (a trade made in the exchange's app).

A reduction is classified by what the exchange says first: the fills that explain it carry
the venue's own word (``ExchangeFill.exec_kind``: Bybit ``BustTrade`` / ``AdlTrade`` /
``Settle``, Binance's ``autoclose-`` / ``adl_autoclose`` / ``settlement_autoclose-`` order ids,
OKX's liquidation codes, Deribit's ``liquidation``), so the event is ``LIQUIDATED``, ``ADL`` or
``SETTLED`` and its text says the exchange reports it. Only where the venue says nothing is the
kind inferred, and the text says "inferred":

- ``LIQUIDATED`` when no own execution explains a reduction and the mark (the position's own,
  or ``marks``) has reached the liquidation price hedgetop expected (``liq_price``);
- fills the venue gave no kind (Binance's REST userTrades) that explain it are "a trade made
  elsewhere (inferred)";
- otherwise the kind stays ``POSITION_CHANGED`` / ``POSITION_CLOSED`` and the text says no own
  execution explains it (a liquidation, an ADL or a transfer?).

Balances. An expected balance is compared only in a wallet the read covered
(``wallets_read``): a wallet that was not read says nothing, it is not reported as emptied. A
coin missing from a read wallet is 0 (the normaliser drops zero totals). The move the read
itself explains is the funding booked after ``as_of_ms`` (> 0 received) minus the fees of the
fills after it charged in that coin; what remains must be within
``max(BALANCE_ABS_TOL, BALANCE_REL_TOL × |expected|)``: a satoshi (the venues' 8-decimal
figures) or a millionth of the balance (their rounding, summed in floats). The PnL a reducing
fill realised is derived too (``realised_by_fills``: walked from the positions as they were at
the balance's time, ``positions_then``, each increase averaging the entry); where it cannot be
(no entry, no price, a side flip) the move is reported, its text saying the fills may have
realised PnL.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from enum import StrEnum

import msgspec

from core import inverse
from core.accounts.model import (
    AccountPosition,
    AccountState,
    ExchangeFill,
    ExecKind,
    MarginMode,
    WalletKind,
)
from core.accounts.normalise import USD_QTY_VENUES
from core.config import HedgeConfig
from core.events import OrderSide, Side, Venue

BALANCE_ABS_TOL = 1e-8
BALANCE_REL_TOL = 1e-6

#: Binance's client order ids for the system's own orders (its forceOrders documentation).
_ADL_PREFIXES = ("adl_autoclose",)
_LIQ_PREFIXES = ("autoclose-", "settlement_autoclose-")


class ReconcileKind(StrEnum):
    POSITION_OPENED = "position_opened"
    POSITION_CLOSED = "position_closed"
    POSITION_CHANGED = "position_changed"
    SIDE_FLIPPED = "side_flipped"
    LIQUIDATED = "liquidated"
    ADL = "adl"
    SETTLED = "settled"  # the venue closed it itself: a delivery or a delisting
    BALANCE_CHANGED = "balance_changed"


class ExpectedPosition(msgspec.Struct, frozen=True, kw_only=True):
    """What hedgetop holds for one position. ``contracts`` in the venue's unit (0: flat);
    ``as_of_ms``: when it was last true (None: not known, e.g. the config's figure), so that
    only fills after it can explain a difference. ``liq_price``: hedgetop's own liquidation
    price, used to recognise a liquidation no execution explains."""

    account: str
    venue: Venue
    symbol: str
    side: Side
    contracts: int
    coin: str = ""
    as_of_ms: int | None = None
    liq_price: float | None = None
    entry: float | None = None  # USD per coin: what a reducing fill realises PnL against


class ExpectedBalance(msgspec.Struct, frozen=True, kw_only=True):
    """A wallet balance hedgetop knows, in ``coin``; ``as_of_ms`` as for positions."""

    account: str
    venue: Venue
    wallet: WalletKind
    coin: str
    total: float
    as_of_ms: int | None = None


class ReconcileEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One difference between hedgetop and the exchange, with both values.

    Positions: ``expected`` and ``exchange`` are signed contracts in ``unit`` (long > 0,
    short < 0, 0 flat), ``difference = exchange - expected``, the sides are said as well.
    Balances: totals in ``coin`` and ``difference`` the part the read does not explain.
    ``explained_by``: the exchange trade ids that account for the difference (empty: none)."""

    ts_ms: int
    account: str
    venue: Venue
    kind: ReconcileKind
    symbol: str  # "" for a balance
    coin: str
    expected: float
    exchange: float
    difference: float
    unit: str  # "USD", "contracts" or the coin
    text: str
    wallet: WalletKind | None = None
    expected_side: Side | None = None
    exchange_side: Side | None = None
    explained_by: tuple[str, ...] = ()


# --- expectations ------------------------------------------------------------------------------


def expected_positions(
    hedges: Iterable[HedgeConfig],
    venue_of: Mapping[str, Venue],
    *,
    contracts: Mapping[str, int] | None = None,
    liq_prices: Mapping[str, float | None] | None = None,
    as_of_ms: int | None = None,
) -> tuple[ExpectedPosition, ...]:
    """The expectation from the hedges that name an account. ``venue_of`` maps account names
    to their venue; ``contracts`` / ``liq_prices`` (by hedge id) override the configured
    figures with the engine's (after the ledger's replay)."""
    out = []
    for h in hedges:
        if h.account is None or h.account not in venue_of:
            continue
        n = (contracts or {}).get(h.id, h.contracts)
        out.append(
            ExpectedPosition(
                account=h.account,
                venue=venue_of[h.account],
                symbol=h.symbol,
                side=Side(h.side),
                contracts=n,
                coin=h.coin,
                as_of_ms=as_of_ms,
                liq_price=(liq_prices or {}).get(h.id),
                entry=h.entry if n else None,
            )
        )
    return tuple(out)


def expected_from_state(
    state: AccountState, *, liq_prices: Mapping[str, float | None] | None = None
) -> tuple[tuple[ExpectedPosition, ...], tuple[ExpectedBalance, ...]]:
    """A read as the expectation for the next one (as of its ``read_ms``). ``liq_prices`` by
    venue symbol; by default the exchange's own. A fractional contract count (no inverse venue
    trades one) is left out, so that the next read reports it rather than a rounded figure."""
    positions = tuple(
        ExpectedPosition(
            account=state.account,
            venue=p.venue,
            symbol=p.symbol,
            side=p.side,
            contracts=_int_contracts(p.contracts),
            coin=p.coin,
            as_of_ms=state.read_ms,
            liq_price=(liq_prices or {}).get(p.symbol, p.liq_price),
            entry=p.entry,
        )
        for p in state.positions
        if _int_contracts(p.contracts) == p.contracts
    )
    balances = tuple(
        ExpectedBalance(
            account=state.account,
            venue=b.venue,
            wallet=b.wallet,
            coin=b.coin,
            total=b.total,
            as_of_ms=state.read_ms,
        )
        for b in state.balances
    )
    return positions, balances


def wallets_read(state: AccountState) -> frozenset[WalletKind]:
    """The wallets ``state`` covers: those it has rows of, plus those the reader always asks
    for (a wallet whose every coin is zero has no row but was read)."""
    kinds = {b.wallet for b in state.balances}
    if state.venue is Venue.BYBIT:
        if state.unified is True:
            kinds.add(WalletKind.UNIFIED)
        elif state.unified is False:
            kinds |= {WalletKind.FUTURES, WalletKind.SPOT}
    else:
        kinds.add(WalletKind.FUTURES)
        if state.venue is Venue.BINANCE and not any(
            n.startswith("spot wallet not read") for n in state.notes
        ):
            kinds.add(WalletKind.SPOT)
    return frozenset(kinds)


# --- reconciling -------------------------------------------------------------------------------


def reconcile(
    positions: Iterable[ExpectedPosition],
    balances: Iterable[ExpectedBalance],
    state: AccountState,
    *,
    now_ms: int,
    known_trade_ids: Iterable[str] = (),
    marks: Mapping[str, float] | None = None,
    positions_then: Iterable[ExpectedPosition] | None = None,
) -> tuple[ReconcileEvent, ...]:
    """Every difference between the expectation and ``state`` (see the module doc), positions
    first (by symbol, then side), then balances (by wallet, then coin). Expectations of another
    account or venue are ignored. ``marks`` by venue symbol, for a closed position's mark."""
    known = frozenset(known_trade_ids)
    exp: dict[tuple[str, Side | None], ExpectedPosition] = {}
    for e in positions:
        if e.account == state.account and e.venue is state.venue:
            key = _key(e.symbol, e.side, state)
            exp[key] = _merge(exp[key], e) if key in exp else e
    got = {_key(p.symbol, p.side, state): p for p in state.positions}
    events = []
    for key in sorted(set(exp) | set(got), key=lambda k: (k[0], k[1] or "")):
        ev = _position_event(exp.get(key), got.get(key), state, now_ms, known, marks or {})
        if ev is not None:
            events.append(ev)
    read = wallets_read(state)
    totals = {(b.wallet, b.coin): b.total for b in state.balances}
    bal = sorted(
        (
            b
            for b in balances
            if b.account == state.account and b.venue is state.venue and b.wallet in read
        ),
        key=lambda b: (b.wallet.value, b.coin),
    )
    # the fills after the balances' time walk from the positions as they were then (the
    # previous read's), else from the expectation
    then = list(positions_then) if positions_then is not None else list(exp.values())
    for b in bal:
        ev = _balance_event(b, totals.get((b.wallet, b.coin), 0.0), state, now_ms, then)
        if ev is not None:
            events.append(ev)
    return tuple(events)


def _merge(a: ExpectedPosition, b: ExpectedPosition) -> ExpectedPosition:
    """Two hedges on one exchange position: the exchange holds their net."""
    net = _signed(a.side, a.contracts) + _signed(b.side, b.contracts)
    times = (a.as_of_ms, b.as_of_ms)
    return msgspec.structs.replace(
        a,
        side=Side.SHORT if net < 0 else Side.LONG if net > 0 else a.side,
        contracts=int(abs(net)),
        as_of_ms=None if None in times else min(t for t in times if t is not None),
        liq_price=a.liq_price if a.liq_price == b.liq_price else None,
    )


def _hedge_mode(symbol: str, state: AccountState) -> bool:
    return any(p.hedged and p.symbol == symbol for p in state.positions)


def _key(symbol: str, side: Side, state: AccountState) -> tuple[str, Side | None]:
    """One key per symbol; per symbol and side where the venue runs the symbol in hedge mode."""
    return (symbol, side if _hedge_mode(symbol, state) else None)


def _signed(side: Side | None, contracts: float) -> float:
    return -contracts if side is Side.SHORT else contracts


def _int_contracts(contracts: float) -> int:
    return round(contracts) if math.isfinite(contracts) else 0


def _new_fills(
    state: AccountState, symbol: str, as_of_ms: int | None, known: frozenset[str]
) -> list[ExchangeFill]:
    if as_of_ms is None:
        return []
    return [
        f
        for f in state.fills
        if f.symbol == symbol and f.ts_ms > as_of_ms and f.trade_id not in known
    ]


_BY_EXEC = {
    ExecKind.ADL: ReconcileKind.ADL,
    ExecKind.LIQUIDATION: ReconcileKind.LIQUIDATED,
    ExecKind.SETTLEMENT: ReconcileKind.SETTLED,
}
_SAID = {
    ReconcileKind.ADL: "auto-deleveraging",
    ReconcileKind.LIQUIDATED: "a liquidation",
    ReconcileKind.SETTLED: "its settlement (a delivery or a delisting)",
}


def _system_kind(fills: Sequence[ExchangeFill]) -> ReconcileKind | None:
    """The venue's own word among ``fills`` (ADL before liquidation before settlement); for a
    fill without one (stored before the kind was), Binance's system order ids."""
    kinds = {_BY_EXEC[f.exec_kind] for f in fills if f.exec_kind in _BY_EXEC}
    ids = [(f.client_order_id or "").lower() for f in fills if f.exec_kind is None]
    if any(i.startswith(_ADL_PREFIXES) for i in ids):
        kinds.add(ReconcileKind.ADL)
    if any(i.startswith(_LIQ_PREFIXES) for i in ids):
        kinds.add(ReconcileKind.LIQUIDATED)
    for kind in (ReconcileKind.ADL, ReconcileKind.LIQUIDATED, ReconcileKind.SETTLED):
        if kind in kinds:
            return kind
    return None


def _beyond_liq(side: Side, mark: float, liq: float) -> bool:
    return mark >= liq if side is Side.SHORT else mark <= liq


def _n(x: float) -> str:
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.8g}"


def _delta(x: float) -> str:
    return ("+" if x > 0 else "\u2212" if x < 0 else "\u00b1") + _n(abs(x))


def _pos_text(side: Side | None, contracts: float, unit: str) -> str:
    return "flat" if side is None or contracts == 0 else f"{side.value} {_n(contracts)} {unit}"


def _position_event(  # noqa: PLR0917 (one comparison and its context)
    e: ExpectedPosition | None,
    p: AccountPosition | None,
    state: AccountState,
    now_ms: int,
    known: frozenset[str],
    marks: Mapping[str, float],
) -> ReconcileEvent | None:
    exp_n = e.contracts if e is not None else 0
    exp_side = e.side if e is not None and exp_n != 0 else None
    got_n = p.contracts if p is not None else 0.0
    got_side = p.side if p is not None else None
    if exp_side == got_side and exp_n == got_n:
        return None
    symbol = e.symbol if e is not None else p.symbol if p is not None else ""
    coin = p.coin if p is not None else e.coin if e is not None else ""
    unit = "USD" if state.venue in USD_QTY_VENUES else "contracts"
    expected = _signed(exp_side, exp_n)
    exchange = _signed(got_side, got_n)
    diff = exchange - expected
    fills = _new_fills(state, symbol, e.as_of_ms if e is not None else None, known)
    flow = sum(f.contracts if f.side is OrderSide.BUY else -f.contracts for f in fills)
    explained = bool(fills) and flow == diff
    reduced = exp_side is not None and (got_side is None or got_side == exp_side)
    reduced = reduced and got_n < exp_n
    if exp_side is None:
        kind = ReconcileKind.POSITION_OPENED
    elif got_side is None:
        kind = ReconcileKind.POSITION_CLOSED
    elif got_side != exp_side:
        kind = ReconcileKind.SIDE_FLIPPED
    else:
        kind = ReconcileKind.POSITION_CHANGED
    why = ""
    if reduced and explained and (sk := _system_kind(fills)) is not None:
        kind = sk
        why = f"the exchange reports {_SAID[sk]}"
    elif reduced and not explained and e is not None:
        mark = p.mark if p is not None and p.mark is not None else marks.get(symbol)
        if mark is not None and e.liq_price is not None and _beyond_liq(e.side, mark, e.liq_price):
            kind = ReconcileKind.LIQUIDATED
            why = f"inferred: mark {_n(mark)} reached the liquidation price {_n(e.liq_price)}"
    if not why:
        if explained:
            many = "s" if len(fills) > 1 else ""
            said = {f.exec_kind for f in fills}
            what = "a trade made elsewhere"
            if None in said:
                what += " (inferred: the venue does not say what they were)"
            elif said <= {ExecKind.MOVE_POSITION}:
                what = "a position moved from another account, as the exchange reports"
            why = f"{len(fills)} execution{many} hedgetop did not place: {what}"
        elif e is not None and e.as_of_ms is not None:
            why = "no own execution explains it: a liquidation, an ADL or a transfer?"
        else:
            why = "a trade made elsewhere, a liquidation or an ADL?"
    change = f" ({_delta(got_n - exp_n)})" if exp_side is not None and got_side == exp_side else ""
    label = {
        ReconcileKind.LIQUIDATED: "liquidated",
        ReconcileKind.ADL: "auto-deleveraged",
        ReconcileKind.SETTLED: "settled by the venue",
        ReconcileKind.SIDE_FLIPPED: "side flipped",
    }.get(kind, "")
    text = (
        f"{state.venue.value} {symbol}: expected {_pos_text(exp_side, exp_n, unit)}, "
        f"exchange {_pos_text(got_side, got_n, unit)}{change}"
        f"{': ' + label if label else ''}: {why}"
    )
    return ReconcileEvent(
        ts_ms=now_ms,
        account=state.account,
        venue=state.venue,
        kind=kind,
        symbol=symbol,
        coin=coin,
        expected=float(expected),
        exchange=float(exchange),
        difference=float(diff),
        unit=unit,
        text=text,
        expected_side=exp_side,
        exchange_side=got_side,
        explained_by=tuple(f.trade_id for f in fills) if explained else (),
    )


def explained_balance_move(state: AccountState, coin: str, as_of_ms: int | None) -> float:
    """What the read itself says moved ``coin``'s wallet after ``as_of_ms``: funding booked
    (> 0 received) minus the fees charged in that coin. 0 when ``as_of_ms`` is unknown."""
    if as_of_ms is None:
        return 0.0
    funding = sum(f.amount_coin for f in state.funding if f.coin == coin and f.ts_ms > as_of_ms)
    fees = sum(
        f.fee_coin
        for f in state.fills
        if f.fee_coin is not None and f.fee_currency == coin and f.ts_ms > as_of_ms
    )
    return funding - fees


def realised_by_fills(
    positions: Iterable[ExpectedPosition], state: AccountState, coin: str, as_of_ms: int | None
) -> float | None:
    """The PnL the read's own fills after ``as_of_ms`` realised in ``coin`` (inverse:
    ``q·(1/P0 − 1/P)`` for a short bought back, the entry averaged on each increase), walked
    from each expected position's entry; None when a fill cannot be priced (no entry, no
    price, a side flip): then it is only said that fills may have realised PnL."""
    if as_of_ms is None:
        return 0.0
    total = 0.0
    for e in positions:
        if e.coin != coin:
            continue
        fills = sorted(
            (f for f in state.fills if f.symbol == e.symbol and f.ts_ms > as_of_ms),
            key=lambda f: f.ts_ms,
        )
        if not fills:
            continue
        if e.entry is None or not e.contracts:
            return None
        side, entry = e.side.value, e.entry
        size = None
        for f in fills:
            if f.price is None or f.price <= 0 or f.contracts <= 0:
                return None
            face = f.size_usd / f.contracts
            size = e.contracts * face if size is None else size
            adds = (f.side is OrderSide.SELL) == (e.side is Side.SHORT)
            if adds:
                entry = inverse.average_entry(size, entry, f.size_usd, f.price)
                size += f.size_usd
            else:
                if f.size_usd > size + 1e-9:
                    return None  # through zero: the other side's entry is the fill's own
                total += inverse.realized_pnl_coin(side, f.size_usd, entry, f.price)
                size -= f.size_usd
    return total


def balance_tolerance(expected_total: float) -> float:
    """How far a balance may sit from the explained figure and still agree (module doc)."""
    return max(BALANCE_ABS_TOL, BALANCE_REL_TOL * abs(expected_total))


def _balance_event(
    b: ExpectedBalance,
    got: float,
    state: AccountState,
    now_ms: int,
    positions: Sequence[ExpectedPosition] = (),
) -> ReconcileEvent | None:
    explained = explained_balance_move(state, b.coin, b.as_of_ms)
    realised = realised_by_fills(positions, state, b.coin, b.as_of_ms)
    residual = got - b.total - explained - (realised or 0.0)
    if abs(residual) <= balance_tolerance(b.total):
        return None
    parts = []
    if explained:
        parts.append(f"funding and fees since explain {_delta(explained)}")
    if realised:
        parts.append(f"own fills since realised {_delta(realised)}")
    fills_since = b.as_of_ms is not None and any(
        f.ts_ms > b.as_of_ms and _coin_of_symbol(state, f.symbol) == b.coin for f in state.fills
    )
    if fills_since and realised is None:
        parts.append("own fills since may have realised PnL")
    parts.append("a transfer, a liquidation or a fee not read?")
    text = (
        f"{state.venue.value} {b.wallet.value} {b.coin}: expected {_n(b.total)}, exchange "
        f"{_n(got)} ({_delta(got - b.total)}): {'; '.join(parts)}"
    )
    return ReconcileEvent(
        ts_ms=now_ms,
        account=state.account,
        venue=state.venue,
        kind=ReconcileKind.BALANCE_CHANGED,
        symbol="",
        coin=b.coin,
        expected=b.total,
        exchange=got,
        difference=residual,
        unit=b.coin,
        text=text,
        wallet=b.wallet,
    )


def _coin_of_symbol(state: AccountState, symbol: str) -> str | None:
    """The settlement coin of ``symbol`` as far as the read tells (its position, else the
    funding booked on it); None when the read does not say."""
    for p in state.positions:
        if p.symbol == symbol:
            return p.coin
    for f in state.funding:
        if f.symbol == symbol:
            return f.coin
    return None


# --- adopting ----------------------------------------------------------------------------------


def adopt_positions(
    hedges: Sequence[HedgeConfig], state: AccountState
) -> tuple[tuple[HedgeConfig, ...], tuple[str, ...]]:
    """The hedges the engine should hold once ``state`` is read: for each hedge naming the
    account, the exchange's side, contracts, entry, margin mode, leverage and margin replace the
    configured ones (flat when the exchange holds nothing); an exchange position no hedge
    names is added as ``<account>:<symbol>`` (``:<side>`` in hedge mode) hedging its own coin.
    Other hedges are returned unchanged, in order. The notes say what could not be taken."""
    notes: list[str] = []
    got = {_key(p.symbol, p.side, state): p for p in state.positions}
    used: set[tuple[str, Side | None]] = set()
    wallet = {
        b.coin: b.total
        for b in state.balances
        if b.wallet in (WalletKind.FUTURES, WalletKind.UNIFIED)
    }
    out: list[HedgeConfig] = []
    for h in hedges:
        if h.account != state.account or h.venue != state.venue.value:
            out.append(h)
            continue
        key = _key(h.symbol, Side(h.side), state)
        p = got.get(key)
        if p is not None and key in used:
            notes.append(f"{h.id}: {h.symbol} is already held by another hedge; set flat")
            p = None
        if p is None:
            out.append(replace(h, contracts=0, entry=None))
            continue
        used.add(key)
        out.append(_adopt(h, p, wallet, notes))
    for key, p in sorted(got.items(), key=lambda kv: (kv[0][0], kv[0][1] or "")):
        if key in used:
            continue
        ident = f"{state.account}:{p.symbol}" + (f":{p.side.value}" if key[1] else "")
        base = HedgeConfig(
            id=ident,
            venue=state.venue.value,
            symbol=p.symbol,
            coin=p.coin,
            side=p.side.value,
            contracts=0,
            entry=None,
            margin_coin=0.0,
            hedges=p.coin,
            account=state.account,
        )
        notes.append(f"{ident}: a position no hedge names, adopted as a hedge of {p.coin}")
        out.append(_adopt(base, p, wallet, notes))
    return tuple(out), tuple(notes)


def free_wallet_coins(state: AccountState) -> dict[str, float]:
    """The coins of each futures wallet that back no isolated position: free collateral, in
    the position's own coin and so exposure as much as the margin is (a hedge ratio that left
    them out would read too high: an order moving them into a position's margin would change
    the ratio though no coin moved). A coin with a cross position has none: its margin is the
    whole wallet already. Bybit's unified wallet is left out: it holds the spot coins as well,
    which the config's holdings may declare."""
    totals = {b.coin: b.total for b in state.balances if b.wallet is WalletKind.FUTURES}
    isolated: dict[str, float] = {}
    cross: set[str] = set()
    for p in state.positions:
        if p.margin_mode is MarginMode.ISOLATED and p.margin_coin is not None:
            isolated[p.coin] = isolated.get(p.coin, 0.0) + p.margin_coin
        else:
            cross.add(p.coin)
    return {
        coin: max(total - isolated.get(coin, 0.0), 0.0)
        for coin, total in totals.items()
        if coin not in cross
    }


def _adopt(
    h: HedgeConfig, p: AccountPosition, wallet: Mapping[str, float], notes: list[str]
) -> HedgeConfig:
    contracts = _int_contracts(p.contracts)
    if contracts != p.contracts:
        notes.append(f"{h.id}: {_n(p.contracts)} contracts rounded to {contracts}")
    mode = p.margin_mode.value if p.margin_mode is not None else h.margin_mode
    margin = h.margin_coin
    if p.margin_mode is MarginMode.ISOLATED and p.margin_coin is not None:
        margin = p.margin_coin
    elif mode == MarginMode.CROSS.value and p.coin in wallet:
        margin = wallet[p.coin]
    else:
        notes.append(f"{h.id}: the exchange gave no margin; the configured {_n(margin)} kept")
    entry = p.entry
    if entry is None:
        entry = h.entry
        notes.append(f"{h.id}: the exchange gave no entry price; the configured one kept")
    return replace(
        h,
        side=p.side.value,
        contracts=contracts,
        entry=entry,
        margin_coin=margin,
        margin_mode=mode,
        leverage=p.leverage if p.leverage is not None else h.leverage,
    )
